import ArgumentParser
import Corpus
import Foundation
import Shards

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a built dataset's HTML report (report.html) from its manifest.",
        discussion: """
        cotforge shard and cotforge export write DATASET/report.html themselves; this command regenerates it, for example after a later stage added its results next to the dataset. The page is one self-contained file (inline SVG and CSS, no script, no network): counts, the records through every stage with drop reasons, histograms of reasoning tokens per split and variant (mode and steering α), and every file set. Open it in any browser.

        Examples:
          cotforge report out/demo
          cotforge report out/demo -o /tmp/demo-report.html
        """)

    @Argument(help: "Dataset folder (holding manifest.json).")
    var dataset: String

    @Option(name: .shortAndLong, help: "Write the page here instead of DATASET/report.html.")
    var output: String?

    func run() throws {
        let d = try ReportDataset(dir: dataset)
        guard let output else { return Terminal.out(try Report.write(d)) }
        guard FileManager.default.createFile(atPath: output, contents: Data(Report.render(d).utf8)) else {
            throw FileError(path: output, message: "cannot be written", hint: "check that its folder exists and is writable")
        }
        Terminal.out(output)
    }
}
