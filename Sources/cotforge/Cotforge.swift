import ArgumentParser
import Corpus

@main
struct CotforgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cotforge",
        abstract: "Build, check, export and train on chain-of-thought training corpora.",
        discussion: """
        Records are JSON Lines (schemas/example.schema.json); built datasets are folders of zstd-compressed shards with a manifest and a dataset card that Hugging Face datasets loads as it is. A recipe (YAML, schemas/recipe.schema.json) runs a whole build: steered self-sampling on a local GGUF model, SafeChain-style safety sets, curation, mixes, split and exports.

        The pipeline `make demo` runs:
          cotforge build datasets/demo.yaml --out out/demo
          cotforge verify out/demo
          cotforge train --data out/demo --init smollm2 --lora r=8,alpha=16 --curriculum --f16
          cotforge eval --questions out/demo/heldout.jsonl --compare out/demo/train/model.gguf --instruction fast --no-loss

        Other starting points:
          cotforge shard datasets/seed/*.jsonl --out out/seed --split validation=0.1
          cotforge inspect out/demo
          cotforge model fetch smollm2
          cotforge generate --model smollm2 --chat --prompt "What is 17 + 25?"
        """,
        version: Cotforge.version,
        subcommands: [BuildCommand.self, ShardCommand.self, VerifyCommand.self, InspectCommand.self, AnswerCommand.self, FormatCommand.self, LengthCommand.self, RepetitionCommand.self, RefusalCommand.self, PIICommand.self, DedupCommand.self, DecontaminateCommand.self, CurriculumCommand.self, ConsensusCommand.self, PairsCommand.self, MixCommand.self, SampleCommand.self, ExportCommand.self, ImportCommand.self, ReportCommand.self, ModelCommand.self, GenerateCommand.self, TrainCommand.self, EvalCommand.self, QuestionsCommand.self, SteerCommand.self, SafetyCommand.self, DataCommand.self, SchemaCommand.self, VersionCommand.self]
    )
}
