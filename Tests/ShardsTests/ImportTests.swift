import Foundation
import Testing
@testable import Corpus
@testable import Shards
import TestSupport

/// `cotforge import` brings every export back to the records it was made from.
@Suite struct ImportTests {
    /// Records as order-independent top-level dictionaries (MDS returns fields in column order).
    static func records(_ path: String) throws -> [[String: JSONValue]] {
        var out: [[String: JSONValue]] = []
        try LineReader(try openInput(path)).forEachLine { line in
            let o = try #require(try JSONScanner.parse(line.bytes).objectValue)
            out.append(Dictionary(o.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a }))
        }
        return out
    }

    static func importing(_ inputs: [String], _ dir: TempDir, _ name: String) throws -> String {
        let out = try JSONLWriter(path: dir.path + "/" + name)
        for i in inputs { try Importer.run(i, to: out) }
        try out.finish()
        return dir.path + "/" + name
    }

    @Test(arguments: ["mds", "wds"])
    func exportsRoundTrip(format: String) throws {
        let dir = try TempDir()
        _ = try build([try dir.write("in.jsonl", lines: randomRecords(80, seed: 9))], dir.path + "/out", splits: [("validation", 0.25)])
        if format == "mds" { _ = try MDSExport.run(dataset: dir.path + "/out", sizeLimit: 4_000) }
        else { _ = try WebDatasetExport.run(dataset: dir.path + "/out", sizeLimit: 4_000) }
        for split in ["train", "validation"] {
            #expect(try Importer.detect("\(dir.path)/out/\(format)/\(split)").rawValue == format)
            let back = try Self.importing(["\(dir.path)/out/\(format)/\(split)"], dir, "\(split).jsonl.zst")
            let original = try dir.write("\(split)-orig.jsonl", lines: try readSplit(dir.path + "/out", split))
            let (a, b) = (try Self.records(back), try Self.records(original))
            #expect(a.count == b.count && a.count > 5)
            #expect(a == b)
        }
    }

    /// MDS written by MosaicML's own MDSWriter (the golden fixture) reads back to the records it was made from.
    @Test(arguments: ["plain", "zstd"])
    func readsMDSWriterOutput(_ name: String) throws {
        let dir = try TempDir()
        let back = try Self.importing([MDSGoldenTests.golden.appendingPathComponent(name).path], dir, "back.jsonl")
        let original = try Self.records(MDSGoldenTests.golden.appendingPathComponent("records.jsonl").path)
        let a = try Self.records(back)
        #expect(a.count == original.count && a.count > 10)
        // MDSWriter stores absent json fields as null, which import leaves out, as in the original records.
        #expect(a == original)
    }

    @Test func jsonArraysAndLines() throws {
        let dir = try TempDir()
        let arr = try dir.write("a.json", Array(#"[{"id": "a", "question": "q"}, {"id": "b", "n": [1, 2]}]"#.utf8))
        let lines = try dir.write("b.jsonl", lines: [#"{"id":"c"}"#, "", #"  {"id":"d"}  "#])
        let out = try Self.importing([arr, lines], dir, "all.jsonl")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == """
            {"id":"a","question":"q"}
            {"id":"b","n":[1,2]}
            {"id":"c"}
            {"id":"d"}

            """)
    }

    @Test func badInputNamesWhere() throws {
        let dir = try TempDir()
        func message(_ path: String) -> String {
            do { _ = try Self.importing([path], dir, "x.jsonl"); return "no error" } catch { return "\(error)" }
        }
        #expect(message(try dir.write("e.json", Array(#"[{"id": "a"}, 3]"#.utf8))).contains("element 1 is a JSON integer"))
        #expect(message(try dir.write("o.json", Array(#"{"id": "a"}"#.utf8))).contains("not an array"))
        #expect(message(try dir.write("l.jsonl", lines: [#"{"id":"a"}"#, #"{"id": "#])).contains("line 2"))
        // An MDS shard cut short.
        _ = try build([try dir.write("in.jsonl", lines: randomRecords(20, seed: 2))], dir.path + "/out", splits: [("validation", 0.0)])
        _ = try MDSExport.run(dataset: dir.path + "/out", zstdLevel: nil)
        let shard = dir.path + "/out/mds/train/shard.00000.mds"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: shard))
        let m = message(dir.path + "/out/mds/train")
        #expect(m.contains("shard.00000.mds") && m.contains("do not fit"), "\(m)")
        // A WebDataset sample without its record.
        let tar = TarShardWriter(directory: dir.path, sizeLimit: 1 << 20)
        try tar.add(key: "000000001", members: [("json", Array(#"{"id":"a"}"#.utf8)), ("txt", [0x61])])
        try tar.add(key: "000000002", members: [("txt", [0x62])])
        try tar.close()
        #expect(message(dir.path + "/data-000000.tar").contains("sample 000000002 has no 000000002.json member"))
    }
}
