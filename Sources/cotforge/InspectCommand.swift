import ArgumentParser
import Corpus
import Foundation
import Shards

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Counts, text-length percentiles and sample records of a dataset or a JSONL file.",
        discussion: """
        Examples:
          cotforge inspect out/demo
          cotforge inspect raw/generations.jsonl.zst --samples 5
          cotforge inspect out/demo --json | python3 -m json.tool
        """)

    @Argument(help: "A dataset folder or a .jsonl / .jsonl.zst file.")
    var path: String

    @Option(help: "How many sample records to show.")
    var samples: Int = 3

    @Flag(help: "Print JSON for machines instead of tables.")
    var json = false

    func run() throws {
        let r = try Inspector.inspect(path, samples: max(0, samples))
        if json {
            Terminal.out(JSONSerializer.pretty(r.json))
            return
        }
        var lines: [String] = ["\(path)"]
        let total = r.splits.reduce(0) { $0 + $1.1 }
        lines.append("records: \(total)  (" + r.splits.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + ")"
                     + (r.rejects.map { ", rejects \($0)" } ?? "") + (r.invalid > 0 ? ", \(r.invalid) invalid lines" : ""))
        for c in r.categories {
            lines.append("\(c.field): " + c.counts.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        }
        lines.append("")
        lines.append("length in characters")
        let header = ["field", "count", "mean", "min", "p5", "p25", "p50", "p75", "p95", "max"]
        var rows = [header]
        for s in r.lengths {
            rows.append([s.field, "\(s.count)", String(format: "%.1f", s.mean), "\(s.min)", "\(s.p5)", "\(s.p25)", "\(s.p50)", "\(s.p75)", "\(s.p95)", "\(s.max)"])
        }
        let widths = (0..<header.count).map { i in rows.map { $0[i].count }.max() ?? 0 }
        for row in rows {
            lines.append(row.enumerated().map { i, c in
                i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  "))
        }
        if !r.samples.isEmpty {
            lines.append("")
            lines.append("samples")
            for e in r.samples {
                lines.append("- id: \(e.id ?? "?")")
                for f in Example.textFields {
                    guard let v = e.fields[f]?.stringValue else { continue }
                    let flat = v.replacingOccurrences(of: "\n", with: "⏎ ")
                    lines.append("  \(f): " + (flat.count > 160 ? String(flat.prefix(160)) + "…" : flat))
                }
            }
        }
        Terminal.out(lines.joined(separator: "\n"))
    }
}
