import Foundation
import Testing
@testable import Corpus
@testable import Shards
import TestSupport

@Suite struct ReportTests {
    /// Steered variants: mode × α, reasoning tokens known per record.
    static func steeredLines() -> [String] {
        (0..<60).map { i -> String in
            let alpha = ["0", "-0.4", "-0.8"][i % 3]
            let mode = i % 3 == 0 ? "slow" : "fast"
            let tokens = 200 + i * 7 - (i % 3) * 60
            return #"{"id":"s-\#(i)","question":"q\#(i / 3)","reasoning":"r","answer":"a","mode":"\#(mode)","tokens":{"reasoning":\#(tokens)},"gen":{"model":"m","steer":{"vector":"v","layers":[3],"alpha":\#(alpha)}}}"#
        }
    }

    static func manifest(_ dir: String) throws -> JSONObject {
        try #require(try JSONScanner.parse(try Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))).objectValue)
    }

    /// Lengths are tallied per mode and α with one histogram bin width for the whole dataset;
    /// every histogram counts exactly its variant's records.
    @Test func lengthsPerVariantWithSharedBins() throws {
        let dir = try TempDir()
        _ = try build([try dir.write("in.jsonl", lines: ReportTests.steeredLines())], dir.path + "/out", splits: [("validation", 0.3)])
        let lengths = try #require(try ReportTests.manifest(dir.path + "/out")["lengths"]?.objectValue)
        var widths = Set<Int>(), variants = Set<String>(), total = 0
        for (_, byVariant) in lengths {
            for (variant, st) in byVariant.objectValue ?? JSONObject() {
                variants.insert(variant)
                let o = try #require(st.objectValue), hist = try #require(o["histogram"]?.objectValue)
                widths.insert(try #require(hist["bin_width"]?.intValue))
                let counts = (hist["counts"]?.arrayValue ?? []).compactMap { $0.intValue }
                #expect(counts.reduce(0, +) == o["records"]?.intValue)
                #expect(counts.count == (o["max"]!.intValue! / widths.first!) + 1 && counts.last! > 0)
                total += counts.reduce(0, +)
            }
        }
        #expect(variants == ["slow α=0", "fast α=-0.4", "fast α=-0.8"])
        #expect(widths.count == 1 && total == 60)
        // Longest: record 57 (α=0), 200 + 399 = 599 tokens: width 20 gives 30 bins, the most allowed.
        #expect(widths.first == 20)
    }

    @Test func binWidthsAreRound() {
        #expect(ReasoningLengths.binWidth(maximum: 0) == 1)
        #expect(ReasoningLengths.binWidth(maximum: 29) == 1)
        #expect(ReasoningLengths.binWidth(maximum: 30) == 2)
        #expect(ReasoningLengths.binWidth(maximum: 499) == 20)
        #expect(ReasoningLengths.binWidth(maximum: 4096) == 200)
        #expect(ReasoningLengths.variant(mode: nil, alpha: nil) == "")
        #expect(ReasoningLengths.variant(mode: "fast", alpha: -0.25) == "fast α=-0.25")
    }

    /// shard writes report.html with every section the data supports; the funnel names each
    /// stage and drop reason; the histogram has one series per variant; nothing loads from
    /// outside the page and there is no script.
    @Test func shardWritesTheReport() throws {
        let dir = try TempDir()
        var lines = ReportTests.steeredLines()
        lines.append(#"{"id":"broken""#)
        lines.append(#"{"id":"s-1","question":"dup"}"#)
        _ = try build([try dir.write("in.jsonl", lines: lines)], dir.path + "/out")
        let html = try String(contentsOfFile: dir.path + "/out/report.html", encoding: .utf8)
        for id in ["overview", "funnel", "lengths", "files"] { #expect(html.contains("<section id=\"\(id)\">"), "section \(id)") }
        #expect(html.contains("json.syntax") && html.contains("id.duplicate"))
        #expect(html.contains(">fast α=-0.4</text>") && html.contains(">slow α=0</text>"))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://") && !html.contains("src="))
        #expect(html.contains("Content-Security-Policy"))
        #expect(Report.isOwnReport(Data(html.utf8)))
        #expect(Verifier.verify(dir.path + "/out").ok)
    }

    /// Sections without data are left out; a section a later stage adds renders from a side
    /// file next to the manifest with nothing else changed; text is escaped.
    @Test func sectionsAppearWithTheirData() throws {
        let dir = try TempDir()
        let lines = (0..<5).map { #"{"id":"p-\#($0)","question":"<b>q\#($0)</b>","reasoning":"r","answer":"a"}"# }
        var o = ShardJob.Options()
        o.inputs = [try dir.write("in.jsonl", lines: lines)]
        o.outDir = dir.path + "/out"
        o.name = "<script>alert(1)</script>"
        o.command = ["cotforge", "shard", "--name", "<script>"]
        _ = try ShardJob(options: o).run()
        let html = try String(contentsOfFile: dir.path + "/out/report.html", encoding: .utf8)
        #expect(!html.contains("<section id=\"lengths\">"))
        #expect(!html.contains("<script") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))

        struct Calibration: ReportSection {
            var id: String { "calibration" }
            var title: String { "α calibration" }
            func html(_ d: ReportDataset) -> String? {
                d.file("calibration.json").map { "<p>\(Report.esc(String(decoding: $0, as: UTF8.self)))</p>" }
            }
        }
        let sections = Report.standardSections + [Calibration()]
        #expect(!Report.render(try ReportDataset(dir: dir.path + "/out"), sections: sections).contains("id=\"calibration\""))
        try Data(#"{"alphas":[0,-0.4]}"#.utf8).write(to: URL(fileURLWithPath: dir.path + "/out/calibration.json"))
        let with = Report.render(try ReportDataset(dir: dir.path + "/out"), sections: sections)
        #expect(with.contains("<section id=\"calibration\">") && with.contains("href=\"#calibration\"") && with.contains("&quot;alphas&quot;"))
    }

    /// A training run and evaluations kept beside the dataset show as their own sections (the
    /// loss curve inline), and only when their files are there; a hostile file name is escaped.
    @Test func trainingAndEvaluationSections() throws {
        let dir = try TempDir()
        var o = ShardJob.Options()
        o.inputs = [try dir.write("in.jsonl", lines: (0..<5).map { #"{"id":"p-\#($0)","question":"q\#($0)","answer":"a"}"# })]
        o.outDir = dir.path + "/out"
        _ = try ShardJob(options: o).run()
        let before = Report.render(try ReportDataset(dir: dir.path + "/out"))
        #expect(!before.contains("id=\"training\"") && !before.contains("id=\"evaluation\""))
        try FileManager.default.createDirectory(atPath: dir.path + "/out/train", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path + "/out/eval", withIntermediateDirectories: true)
        try Data(#"{"init":"smollm2","steps":200,"records":270,"lora":"r=8,alpha=16","final_train_loss":0.0021,"validation_loss_before":2.0778,"validation_loss_after":0.0144,"tokens_per_second":135,"train_seconds":902}"#.utf8)
            .write(to: URL(fileURLWithPath: dir.path + "/out/train/summary.json"))
        try Data(#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><polyline points="0,0 5,5"/></svg>"#.utf8)
            .write(to: URL(fileURLWithPath: dir.path + "/out/train/loss.svg"))
        try Data(#"{"model":"a<b>.gguf","split":"validation","instruction":"fast","records":30,"loss":0.0144,"accuracy":0.8667,"mean_reasoning_tokens":18.7,"safe_at_1":null}"#.utf8)
            .write(to: URL(fileURLWithPath: dir.path + "/out/eval/validation-model.json"))
        let html = Report.render(try ReportDataset(dir: dir.path + "/out"))
        #expect(html.contains("<section id=\"training\">") && html.contains("2.0778 → 0.0144") && html.contains("LoRA r=8,alpha=16"))
        #expect(html.contains("<polyline points=\"0,0 5,5\"/>"))
        #expect(html.contains("<section id=\"evaluation\">") && html.contains("86.7%") && html.contains("a&lt;b&gt;.gguf") && html.contains("question + fast"))
        #expect(Verifier.verify(dir.path + "/out").ok, "train/ and eval/ beside the data do not break verify")
    }

    /// Exports re-render the report (their files appear); a rebuild with --overwrite removes
    /// the old build's exports, and a report.html cotforge did not write is never replaced.
    @Test func exportsOverwriteAndForeignReports() throws {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", lines: ReportTests.steeredLines())
        _ = try build([input], dir.path + "/out")
        _ = try WebDatasetExport.run(dataset: dir.path + "/out")
        #expect(try String(contentsOfFile: dir.path + "/out/report.html", encoding: .utf8).contains("wds/train/data-000000.tar"))
        var o = ShardJob.Options()
        o.inputs = [input]
        o.outDir = dir.path + "/out"
        o.overwrite = true
        _ = try ShardJob(options: o).run()
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/wds"))
        #expect(Verifier.verify(dir.path + "/out").ok)

        try FileManager.default.createDirectory(atPath: dir.path + "/other", withIntermediateDirectories: true)
        try Data("<html>my notes</html>".utf8).write(to: URL(fileURLWithPath: dir.path + "/other/report.html"))
        o.outDir = dir.path + "/other"
        #expect(throws: ShardJobError.self) { try ShardJob(options: o).run() }
        #expect(try String(contentsOfFile: dir.path + "/other/report.html", encoding: .utf8) == "<html>my notes</html>")
    }

    @Test func missingManifestIsAClearError() throws {
        let dir = try TempDir()
        #expect { try Report.write(dataset: dir.path) } throws: { e in
            (e as? FileError)?.path == dir.path + "/manifest.json" && (e as? FileError)?.hint != nil
        }
    }
}
