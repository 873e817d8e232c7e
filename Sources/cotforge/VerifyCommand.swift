import ArgumentParser
import Corpus
import Shards

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a built dataset: checksums, schema, counts and accounting.",
        discussion: """
        Checks every shard's size and SHA-256 against manifest.json, that each is one zstd frame with its content size, every record against the schema, record counts, unique ids, that no question crosses splits, no unlisted files, and that in = kept + dropped for every stage. Exits 1 and names the first broken file when anything is wrong.

        Example:
          cotforge verify out/demo
        """)

    @Argument(help: "Dataset folder (holding manifest.json).")
    var dataset: String

    @Flag(name: .shortAndLong, help: "Print only problems.")
    var quiet = false

    func run() throws {
        let line = ProgressLine()
        let report = Verifier.verify(dataset) { file in if !quiet { line.update("verify: \(file)") } }
        line.finish()
        if report.ok {
            if !quiet {
                let splits = report.records.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                Terminal.out("ok: \(dataset): \(report.shardsChecked) shards (\(formatBytes(Int64(report.bytesChecked)))), records \(splits), rejects \(report.rejects); checksums, schema, splits and accounting agree")
            }
            return
        }
        Terminal.err("verify failed: \(dataset)/\(report.problems[0].file): \(report.problems[0].message)")
        for p in report.problems.dropFirst() { Terminal.err("  also: \(p.file): \(p.message)") }
        if report.problems.count >= Verifier.maxProblems { Terminal.err("  (stopped listing after \(Verifier.maxProblems) problems)") }
        throw ExitCode(1)
    }
}
