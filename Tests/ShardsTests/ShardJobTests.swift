import Foundation
import Testing
@testable import Corpus
@testable import Shards
import Hashing
import TestSupport

/// Records with unicode, escapes, nested unknown keys, variants sharing a question, and now
/// and then a huge string.
func randomRecords(_ n: Int, seed: UInt64, hugeEvery: Int = 0) -> [String] {
    var rng = SeededRandom(seed: seed)
    let words = ["the", "sum", "é", "中文", "😀", "\"quoted\"", "back\\slash", "tab\t", "new\nline", "\u{01}", "x²", "→"]
    func text(_ k: Int) -> String { (0..<k).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ") }
    var out: [String] = []
    var q = 0
    while out.count < n {
        let question = "Q\(q): " + text(Int.random(in: 1...12, using: &rng))
        for v in 0..<Int.random(in: 1...3, using: &rng) where out.count < n {
            var o = JSONObject()
            o["id"] = .string("r-\(q)/\(v)")
            o["question"] = .string(question)
            o["reasoning"] = .string(hugeEvery > 0 && out.count % hugeEvery == hugeEvery - 1
                                     ? String(repeating: "long thought ", count: 80_000) : text(Int.random(in: 0...60, using: &rng)))
            o["answer"] = .string(text(3))
            o["mode"] = .string(v == 0 ? "slow" : "fast")
            o["len_ratio"] = .number(v == 0 ? "1.0" : "0.\(Int.random(in: 1...9, using: &rng))")
            o["unknown_\(Int.random(in: 0...3, using: &rng))"] = .object(JSONObject([
                ("deep", .array([.int(Int.random(in: -5...5, using: &rng)), .string(text(2)), .null])),
            ]))
            out.append(JSONSerializer.string(.object(o)))
        }
        q += 1
    }
    return out
}

/// Every line of every shard of `split`, in shard order.
func readSplit(_ dir: String, _ split: String) throws -> [String] {
    let m = try JSONScanner.parse(try Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json")))
    let shards = m.objectValue?["splits"]?.objectValue?[split]?.objectValue?["shards"]?.arrayValue ?? []
    var lines: [String] = []
    for s in shards {
        let path = dir + "/" + (s.objectValue?["path"]?.stringValue ?? "")
        try LineReader(try openInput(path)).forEachLine { lines.append(String(decoding: $0.bytes, as: UTF8.self)) }
    }
    return lines
}

func build(_ inputs: [String], _ out: String, shardSize: Int = 64 << 20, splits: [(String, Double)] = [("validation", 0.2)],
           progress: (ShardJob.Progress) throws -> Void = { _ in }) throws -> ShardJob.Result {
    var o = ShardJob.Options()
    o.inputs = inputs
    o.outDir = out
    o.shardSize = shardSize
    o.splits = splits.map { (name: $0.0, fraction: $0.1) }
    o.command = ["test"]
    return try ShardJob(options: o).run(progress: progress)
}

@Suite struct ShardRoundTripTests {
    /// Records come back identical and in input order within each split, at every shard size
    /// from one record per shard to everything in one shard.
    @Test(arguments: [1, 700, 20_000, 1 << 20, 64 << 20])
    func roundTrip(shardSize: Int) throws {
        let dir = try TempDir()
        let records = randomRecords(400, seed: UInt64(shardSize), hugeEvery: shardSize == 1 << 20 ? 150 : 0)
        let input = try dir.write("in.jsonl", lines: records)
        let result = try build([input], dir.path + "/out", shardSize: shardSize)
        #expect(result.dropped == 0)
        let assigner = try SplitAssigner(fractions: [("validation", 0.2)], seed: 1)
        for split in ["train", "validation"] {
            let want = try records.filter { assigner.split(forKey: try Example(json: $0).question!) == split }
            let got = try readSplit(dir.path + "/out", split)
            #expect(got == want, "split \(split) at shard size \(shardSize)")
        }
        let report = Verifier.verify(dir.path + "/out")
        #expect(report.ok, "\(report.problems)")
        if shardSize == 1 {
            let shards = (try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out/data")).count
            #expect(shards == 400)
        }
    }

    @Test func variantsOfAQuestionShareASplit() throws {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", lines: randomRecords(600, seed: 9))
        _ = try build([input], dir.path + "/out", splits: [("validation", 0.3), ("test", 0.3)])
        var where_: [String: String] = [:]
        for split in ["train", "validation", "test"] {
            for line in try readSplit(dir.path + "/out", split) {
                let q = try Example(json: line).question!
                #expect(where_[q, default: split] == split)
                where_[q] = split
            }
        }
        #expect(Set(where_.values).count == 3)
    }

    @Test func manifestAccountingAndCard() throws {
        let dir = try TempDir()
        var lines = randomRecords(50, seed: 3)
        lines += ["{broken", #"{"id":"r-0/0","question":"duplicate id"}"#, #"{"question":"derived id"}"#, ""]
        let input = try dir.write("mix.jsonl", lines: lines)
        let r = try build([input], dir.path + "/out")
        #expect(r.kept == 51)
        #expect(r.droppedByReason == ["json.syntax": 1, "id.duplicate": 1])
        let m = try JSONScanner.parse(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out/manifest.json")))
        #expect(JSONSchema.manifest.validate(m) == nil)
        let counts = try #require(m.objectValue?["counts"]?.objectValue)
        #expect(counts["in"]?.intValue == 53)
        #expect(counts["blank_lines"]?.intValue == 1)
        let rejects = try readSplitRejects(dir.path + "/out")
        #expect(rejects.count == 2)
        #expect(rejects.map { $0["line"]?.intValue } == [51, 52])
        let card = try String(contentsOfFile: dir.path + "/out/README.md", encoding: .utf8)
        #expect(card.hasPrefix("---\n"))
        #expect(card.contains("path: data/train-*.jsonl.zst"))
        #expect(card.contains("num_examples: \(r.kept - (m.objectValue?["splits"]?.objectValue?["validation"]?.objectValue?["records"]?.intValue ?? 0))"))
        #expect(Verifier.verify(dir.path + "/out").ok)
    }

    func readSplitRejects(_ dir: String) throws -> [JSONObject] {
        var out: [JSONObject] = []
        for f in try FileManager.default.contentsOfDirectory(atPath: dir + "/rejects") {
            try LineReader(try openInput(dir + "/rejects/" + f)).forEachLine { l in
                if let o = try? JSONScanner.parse(l.bytes).objectValue { out.append(o) }
            }
        }
        return out
    }

    /// An output folder whose data/ holds someone else's files is refused, not cleared.
    @Test func refusesToClearForeignFiles() throws {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", lines: randomRecords(10, seed: 1))
        try FileManager.default.createDirectory(atPath: dir.path + "/proj/data", withIntermediateDirectories: true)
        _ = try dir.write("proj/data/notes.csv", Array("keep me".utf8))
        #expect { try build([input], dir.path + "/proj") } throws: { "\($0)".contains("notes.csv was not written by cotforge") }
        #expect(FileManager.default.fileExists(atPath: dir.path + "/proj/data/notes.csv"))
        #expect(ShardJob.isOwnFile("train-00000-of-00003.jsonl.zst") && ShardJob.isOwnFile("rejects-00000-of-00001.jsonl.zst.tmp-42"))
        try FileManager.default.removeItem(atPath: dir.path + "/proj/data/notes.csv")
        _ = try dir.write("proj/README.md", Array("# My project\n".utf8))
        #expect { try build([input], dir.path + "/proj") } throws: { "\($0)".contains("README.md was not written by cotforge") }
        #expect(try String(contentsOfFile: dir.path + "/proj/README.md", encoding: .utf8) == "# My project\n")
    }

    @Test func refusesToReplaceACompleteDataset() throws {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", lines: randomRecords(10, seed: 1))
        _ = try build([input], dir.path + "/out")
        #expect { try build([input], dir.path + "/out") } throws: { "\($0)".contains("--overwrite") }
    }
}

@Suite struct ResumeTests {
    struct Interrupted: Error {}

    /// A build stopped after some shards leaves no manifest (so nothing looks whole); running it
    /// again reuses the finished shards and produces the same files as an uninterrupted build.
    @Test func interruptedBuildResumes() throws {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", lines: randomRecords(300, seed: 5))
        _ = try build([input], dir.path + "/clean", shardSize: 4000)

        #expect(throws: Interrupted.self) {
            try build([input], dir.path + "/resumed", shardSize: 4000) { p in if p.shards >= 3 { throw Interrupted() } }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/resumed/manifest.json"))
        #expect(!Verifier.verify(dir.path + "/resumed").ok)
        let r = try build([input], dir.path + "/resumed", shardSize: 4000)
        #expect(r.reusedShards >= 3)
        #expect(Verifier.verify(dir.path + "/resumed").ok)
        for folder in ["data", "rejects"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/clean/" + folder).sorted()
            #expect(names == (try FileManager.default.contentsOfDirectory(atPath: dir.path + "/resumed/" + folder).sorted()))
            for n in names {
                let a = try Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/clean/\(folder)/\(n)"))
                let b = try Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/resumed/\(folder)/\(n)"))
                #expect(a == b, "\(n)")
            }
        }
    }
}

@Suite struct VerifyCorruptionTests {
    func fresh() throws -> (TempDir, String) {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", lines: randomRecords(200, seed: 11) + ["{not json"])
        _ = try build([input], dir.path + "/out", shardSize: 8000)
        #expect(Verifier.verify(dir.path + "/out").ok)
        return (dir, dir.path + "/out")
    }

    func firstProblemFile(_ out: String) -> String? { Verifier.verify(out).problems.first?.file }

    @Test func flippedByte() throws {
        let (dir, out) = try fresh()
        defer { withExtendedLifetime(dir) {} }
        let path = out + "/data/train-00001-of-" + String(try FileManager.default.contentsOfDirectory(atPath: out + "/data").filter { $0.hasPrefix("train-00001") }.first!.dropFirst("train-00001-of-".count))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(firstProblemFile(out) == "data/" + (path as NSString).lastPathComponent)
        #expect(Verifier.verify(out).problems.first?.message.contains("SHA-256") == true)
    }

    @Test func truncatedShard() throws {
        let (dir, out) = try fresh()
        defer { withExtendedLifetime(dir) {} }
        let name = try FileManager.default.contentsOfDirectory(atPath: out + "/data").sorted().last!
        let path = out + "/data/" + name
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: path))
        #expect(firstProblemFile(out) == "data/" + name)
    }

    @Test func deletedShard() throws {
        let (dir, out) = try fresh()
        defer { withExtendedLifetime(dir) {} }
        let name = try FileManager.default.contentsOfDirectory(atPath: out + "/rejects").first!
        try FileManager.default.removeItem(atPath: out + "/rejects/" + name)
        let report = Verifier.verify(out)
        #expect(report.problems.first?.file == "rejects/" + name)
        #expect(report.problems.first?.message.contains("missing") == true)
    }

    @Test func editedManifest() throws {
        let (dir, out) = try fresh()
        defer { withExtendedLifetime(dir) {} }
        let path = out + "/manifest.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let edited = text.replacingOccurrences(of: "\"kept\": ", with: "\"kept\": 1", options: [], range: text.range(of: "\"kept\": "))
        try edited.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(firstProblemFile(out) == "manifest.json")
    }

    @Test func unlistedFileAndBrokenManifest() throws {
        let (dir, out) = try fresh()
        defer { withExtendedLifetime(dir) {} }
        try Data("{}\n".utf8).write(to: URL(fileURLWithPath: out + "/data/extra-00000-of-00001.jsonl.zst"))
        #expect(firstProblemFile(out) == "data/extra-00000-of-00001.jsonl.zst")
        try Data("{".utf8).write(to: URL(fileURLWithPath: out + "/manifest.json"))
        #expect(firstProblemFile(out) == "manifest.json")
    }

    /// A record moved into the wrong split (re-compressed and re-hashed so that every checksum
    /// agrees) is still caught: its question assigns it elsewhere.
    @Test func leakAcrossSplitsIsCaught() throws {
        let (dir, out) = try fresh()
        defer { withExtendedLifetime(dir) {} }
        let val = try readSplit(out, "validation")
        let trainPath = "data/" + (try FileManager.default.contentsOfDirectory(atPath: out + "/data").filter { $0.hasPrefix("train-00000") }.first!)
        let compressed = try Data(contentsOf: URL(fileURLWithPath: out + "/" + trainPath))
        var content = try compressed.withUnsafeBytes { try zstdDecompress($0) }
        var moved = try Example(json: val[0])
        moved.id = "moved-1"
        content += moved.jsonBytes + [0x0A]
        let frame = try content.withUnsafeBytes { try ZstdCompressor().compressFrame($0) { Array($0) } }
        try Data(frame).write(to: URL(fileURLWithPath: out + "/" + trainPath))
        var text = try String(contentsOfFile: out + "/manifest.json", encoding: .utf8)
        var m = try JSONScanner.parse(text).objectValue!
        var splits = m["splits"]!.objectValue!
        var train = splits["train"]!.objectValue!
        var shards = train["shards"]!.arrayValue!
        var s0 = shards[0].objectValue!
        s0["bytes"] = .int(frame.count); s0["sha256"] = .string(SHA256.hex(of: frame))
        s0["uncompressed_bytes"] = .int(content.count); s0["records"] = .int(s0["records"]!.intValue! + 1)
        shards[0] = .object(s0)
        train["shards"] = .array(shards)
        train["bytes"] = .int(shards.reduce(0) { $0 + $1.objectValue!["bytes"]!.intValue! })
        train["records"] = .int(train["records"]!.intValue! + 1)
        splits["train"] = .object(train)
        m["splits"] = .object(splits)
        text = JSONSerializer.pretty(.object(m))
        try text.write(toFile: out + "/manifest.json", atomically: true, encoding: .utf8)
        let problems = Verifier.verify(out).problems
        #expect(problems.first?.file == trainPath)
        #expect(problems.first?.message.contains("belongs in split validation") == true)
    }
}

@Suite struct FeatureSketchTests {
    @Test func mergesLikeArrow() throws {
        var s = FeatureSketch()
        s.add("n", .int64); s.add("n", .float64); s.add("n", .null)
        s.add("o", FeatureType(try JSONScanner.parse(#"{"a":1,"l":[1,2]}"#)))
        s.add("o", FeatureType(try JSONScanner.parse(#"{"b":"x","l":[]}"#)))
        #expect(s.columns[0].1 == .float64)
        #expect(s.columns[1].1 == .structure([("a", .int64), ("l", .list(.int64)), ("b", .string)]))
        #expect(!s.hasConflict)
        s.add("n", .string)
        #expect(s.hasConflict)
        var e = FeatureSketch()
        e.add("empty", FeatureType(try JSONScanner.parse("{}")))
        #expect(e.hasConflict)
    }
}

@Suite struct ShardWithStagesTests {
    @Test func stagesRunInsideShardAndCountInTheManifest() throws {
        let dir = try TempDir()
        let lines = (0..<40).map { i in
            JSONSerializer.string(.object(JSONObject([("id", .string("r\(i)")), ("question", .string("q\(i % 30)")),
                                                      ("reasoning", .string("think \(i)")), ("answer", .string(i % 4 == 0 ? "\\boxed{9}" : "\\boxed{\(i)}")),
                                                      ("gold", .string("\(i)"))])))
        } + ["{broken"]
        let input = try dir.write("in.jsonl", lines: lines)
        var o = ShardJob.Options()
        o.inputs = [input]; o.outDir = dir.path + "/out"; o.splits = [("validation", 0.2)]
        let r = try ShardJob(options: o).run(stages: [FormatStage(), AnswerCheckStage(), ExactDedupStage(fields: ["question"])])
        let m = try JSONScanner.parse(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out/manifest.json"))).objectValue!
        let names = m["stages"]!.arrayValue!.compactMap { $0.objectValue?["name"]?.stringValue }
        #expect(names == ["read", "id", "format", "answer", "dedup", "split"])
        // Mismatches: i ∈ {0, 4, …, 36} answer 9, gold i (10 records). Of the other 30, questions
        // repeat for i + 30 ∈ {31, 33, 35, 37, 39} (5 records). Kept: 40 − 10 − 5 = 25.
        #expect(r.droppedByReason["answer.mismatch"] == 10 && r.droppedByReason["json.syntax"] == 1)
        #expect(r.droppedByReason["dedup.exact"] == 5)
        #expect(r.kept == 25)
        let report = Verifier.verify(dir.path + "/out")
        #expect(report.ok, "\(report.problems)")
        // Kept records carry the stage's annotations (pred, verdicts).
        let train = try readSplit(dir.path + "/out", "train")
        #expect(train.allSatisfy { (try? Example(json: $0))?.pred != nil })
    }
}

@Suite struct WebDatasetExportTests {
    /// (member name, content) of a USTAR file, parsed by hand: 512-byte headers, name at 0,
    /// size in octal at 124, content padded to 512.
    static func members(_ path: String) throws -> [(String, [UInt8])] {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var out: [(String, [UInt8])] = []
        var at = 0
        while at + 512 <= b.count, b[at] != 0 {
            let name = String(decoding: b[at..<(at + 100)].prefix { $0 != 0 }, as: UTF8.self)
            let sizeText = String(decoding: b[(at + 124)..<(at + 136)].prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
            let size = Int(sizeText, radix: 8) ?? 0
            out.append((name, Array(b[(at + 512)..<(at + 512 + size)])))
            at += 512 + (size + 511) / 512 * 512
        }
        return out
    }

    @Test(arguments: [2_000, 1 << 20])
    func samplesRoundTripAcrossShardSizes(limit: Int) throws {
        let dir = try TempDir()
        let records = randomRecords(60, seed: 4)
        _ = try build([try dir.write("in.jsonl", lines: records)], dir.path + "/out", splits: [("validation", 0.0)])
        let out = try WebDatasetExport.run(dataset: dir.path + "/out", sizeLimit: limit)
        let shards = try #require(out["train"])
        #expect(limit > 100_000 ? shards.count == 1 : shards.count > 5)
        var samples: [String] = []
        var lastKey = ""
        for s in shards {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out/" + s.path))
            #expect(data.withUnsafeBytes { SHA256.hex(of: $0) } == s.sha256 && data.count == s.bytes)
            let ms = try Self.members(dir.path + "/out/" + s.path)
            #expect(ms.count == 2 * s.records)
            for pair in stride(from: 0, to: ms.count, by: 2) {
                let (j, t) = (ms[pair], ms[pair + 1])
                let key = String(j.0.dropLast(5))
                #expect(j.0 == key + ".json" && t.0 == key + ".txt" && !key.contains(".") && key > lastKey)
                lastKey = key
                let e = try Example(bytes: j.1.withUnsafeBytes { $0 })
                #expect(String(decoding: t.1, as: UTF8.self) == WebDatasetExport.assistantText(e))
                samples.append(String(decoding: j.1, as: UTF8.self))
            }
        }
        #expect(samples == (try readSplit(dir.path + "/out", "train")))
        #expect(Verifier.verify(dir.path + "/out").ok)
    }
}

@Suite struct DatasetCardTests {
    /// The card is rendered from the manifest: after both exports it names both folders with
    /// a loader for each, keeps the front matter `datasets` reads, lists every source with its
    /// license, and `verify` still passes (the card is not a listed file).
    @Test func exportsAndSourcesReachTheCard() throws {
        let dir = try TempDir()
        let lines = (0..<30).map { i -> String in
            let (name, license) = i % 3 == 0 ? ("gsm8k", "MIT") : ("local-notes", "CC-BY-4.0")
            let tokens = i == 29 ? "" : #","mode":"\#(i % 2 == 0 ? "slow" : "fast")","tokens":{"prompt":3,"reasoning":\#(i),"answer":1}"#
            return #"{"id":"c-\#(i)","question":"q\#(i)","reasoning":"r","answer":"\#(i)","source":{"name":"\#(name)","index":\#(i),"license":"\#(license)"}\#(tokens)}"#
        }
        _ = try build([try dir.write("in.jsonl", lines: lines)], dir.path + "/out", splits: [("validation", 0.0)])
        // Reasoning tokens: slow 0, 2, …, 28 (15 records), fast 1, 3, …, 27 (14; c-29 has no counts).
        let lengths = try JSONScanner.parse(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out/manifest.json")))
            .objectValue?["lengths"]?.objectValue?["train"]?.objectValue
        let slow = try #require(lengths?["slow"]?.objectValue), fast = try #require(lengths?["fast"]?.objectValue)
        #expect(slow["records"] == .int(15) && slow["median"] == .int(14) && slow["p90"] == .int(26) && slow["max"] == .int(28))
        #expect(fast["records"] == .int(14) && fast["median"] == .int(13) && fast["p10"] == .int(3) && fast["mean"]?.doubleValue == 14)
        let before = try String(contentsOfFile: dir.path + "/out/README.md", encoding: .utf8)
        #expect(before.contains("| gsm8k | MIT |") && before.contains("| local-notes | CC-BY-4.0 |"))
        #expect(before.contains("| train | slow | 15 | 14.0 | 2 | 14 | 26 | 28 |"))
        #expect(before.contains("load_dataset") && !before.contains("StreamingDataset") && !before.contains("wds.WebDataset"))
        _ = try MDSExport.run(dataset: dir.path + "/out")
        _ = try WebDatasetExport.run(dataset: dir.path + "/out")
        let after = try String(contentsOfFile: dir.path + "/out/README.md", encoding: .utf8)
        #expect(after.contains("StreamingDataset(local=") && after.contains("wds.WebDataset("))
        #expect(after.contains("| gsm8k | MIT |"))
        let frontMatter = { (s: String) in s.components(separatedBy: "\n---\n").first ?? "" }
        #expect(frontMatter(after) == frontMatter(before))
        let m = try JSONScanner.parse(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out/manifest.json"))).objectValue!
        #expect(Set(m["exports"]?.objectValue?.keys.map { $0 } ?? []) == ["mds", "wds"])
        #expect(Verifier.verify(dir.path + "/out").ok)
    }
}
