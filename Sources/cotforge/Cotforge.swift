import ArgumentParser
import Corpus

@main
struct CotforgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cotforge",
        abstract: "Build, check and export chain-of-thought training corpora.",
        discussion: """
        Records are JSON Lines (schemas/example.schema.json); built datasets are folders of zstd-compressed shards with a manifest and a dataset card that Hugging Face datasets loads as it is.

        Examples:
          cotforge shard datasets/seed/*.jsonl --out out/demo --split validation=0.1
          cotforge verify out/demo
          cotforge inspect out/demo
          cotforge model fetch smollm2
          cotforge model info smollm2
        """,
        version: Cotforge.version,
        subcommands: [BuildCommand.self, ShardCommand.self, VerifyCommand.self, InspectCommand.self, AnswerCommand.self, FormatCommand.self, LengthCommand.self, RepetitionCommand.self, RefusalCommand.self, PIICommand.self, DedupCommand.self, DecontaminateCommand.self, CurriculumCommand.self, ConsensusCommand.self, PairsCommand.self, MixCommand.self, SampleCommand.self, ExportCommand.self, ImportCommand.self, ReportCommand.self, ModelCommand.self, GenerateCommand.self, TrainCommand.self, EvalCommand.self, QuestionsCommand.self, SteerCommand.self, SafetyCommand.self, DataCommand.self, SchemaCommand.self, VersionCommand.self]
    )
}
