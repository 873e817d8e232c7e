import ArgumentParser
import Corpus
import Foundation
import Recipes
import Shards

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Run a recipe end to end: questions, steering, self-sampling, verification, curation, split, export.",
        discussion: """
        A recipe (YAML, schemas/recipe.schema.json) declares the steps: questions (generated or imported) → steer extract → calibrate → sample → verify (gold or consensus) → filters, dedup, decontaminate → pairs → curriculum → mix → split → export. Everything goes to out/NAME (or --out): data/, rejects/, manifest.json (with every step's counts and settings), README.md, report.html, steer/vector.gguf and steer/calibration.json, and work/ with each step's files.

        A step that finished leaves a marker in work/; running the same command again after an interruption skips every finished step and produces the same dataset. A changed setting reruns its step and every step after it. --overwrite starts from nothing.

        Examples:
          cotforge build datasets/s3cot-arith.yaml
          cotforge build datasets/s3cot-gsm8k.yaml --out out/gsm8k-small
          cotforge build datasets/s3cot-arith.yaml --check     # validate the recipe only
        """)

    @Argument(help: "The recipe file (.yaml).")
    var recipe: String

    @Option(help: "Output folder (default: out/NAME).")
    var out: String?

    @Flag(help: "Discard an earlier build in the output folder (work and dataset) first.")
    var overwrite = false

    @Flag(help: "Only load and check the recipe, then print its steps.")
    var check = false

    @Option(help: "Threads for the model (overrides the recipe's threads; the results do not depend on them).")
    var threads: Int?

    func run() throws {
        var r: Recipe
        do { r = try Recipe.load(path: recipe) } catch let e as RecipeError { throw ValidationError(e.description) }
        if let threads { r.threads = threads }
        var o = RecipeBuild.Options()
        o.outDir = out
        o.overwrite = overwrite
        o.command = ["cotforge"] + Array(CommandLine.arguments.dropFirst())
        let build = RecipeBuild(recipe: r, options: o)
        if check {
            Terminal.out("\(recipe): valid; steps: " + build.stepNames.joined(separator: " → "))
            return
        }
        let line = ProgressLine()
        let started = Date()
        var current = ""
        let result: RecipeBuild.Result
        do {
            result = try build.run { event in
                switch event {
                case .started(let step, let i, let n):
                    current = "[\(i + 1)/\(n)] \(step)"
                case .progress(_, let p):
                    var s = "\(current): \(p.done)" + (p.total > 0 ? "/\(p.total)" : "") + " \(p.unit)"
                    if !p.detail.isEmpty { s += ", \(p.detail)" }
                    if let t = p.tokensPerSecond { s += String(format: ", %.1f tokens/s", t) }
                    if let e = p.eta { s += ", ETA " + GenerateCommand.formatDuration(e) }
                    line.update(s)
                case .note(_, let text):
                    line.finish()
                    Terminal.err(text)
                case .finished(let step, let seconds, let reused, let summary):
                    line.finish()
                    Terminal.err("\(current.isEmpty ? step : current): \(reused ? "done earlier" : GenerateCommand.formatDuration(seconds)) — \(summary)")
                }
            }
        } catch let e as RecipeError {
            line.finish()
            throw ValidationError(e.description)
        }
        line.finish()
        let counts = result.manifest.objectValue?["counts"]?.objectValue
        Terminal.err("build: \(result.outDir) in \(GenerateCommand.formatDuration(Date().timeIntervalSince(started)))"
                     + (result.reusedSteps.isEmpty ? "" : " (resumed: \(result.reusedSteps.joined(separator: ", ")) done earlier)")
                     + "; \(counts?["in"]?.intValue ?? 0) traces in, \(counts?["kept"]?.intValue ?? 0) kept, \(counts?["dropped"]?.intValue ?? 0) in rejects/")
        Terminal.err("build: check it with `cotforge verify \(result.outDir)`; report: \(result.outDir)/report.html")
    }
}
