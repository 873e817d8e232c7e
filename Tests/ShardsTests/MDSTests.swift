import Foundation
import Testing
@testable import Corpus
@testable import Shards
import TestSupport

/// Our MDS writer against golden shards written by MosaicML streaming's own MDSWriter
/// (Fixtures/mds-golden, from scripts/reference/make_mds_golden.py): the same columns, the same
/// index fields, and byte-identical shards before compression.
@Suite struct MDSGoldenTests {
    static var golden: URL { Bundle.module.url(forResource: "mds-golden", withExtension: nil, subdirectory: "Fixtures")! }

    static func records() throws -> [Example] {
        var out: [Example] = []
        try LineReader(try openInput(golden.appendingPathComponent("records.jsonl").path)).forEachLine { out.append(try Example(bytes: $0.bytes)) }
        return out
    }

    static func forEachLine(_ body: (UnsafeRawBufferPointer, [JSONMember], Range<Int>) throws -> Void) throws {
        var members: [JSONMember] = []
        try LineReader(try openInput(golden.appendingPathComponent("records.jsonl").path)).forEachLine { line in
            let object = try JSONScanner.scanObject(line.bytes, into: &members)
            try body(line.bytes, members, object)
        }
    }

    /// The parsed-record path (`write(_ Example)`) and the byte path give the same samples.
    @Test func bytePathEqualsParsedPath() throws {
        let recs = try Self.records()
        var sketch = MDSWriter.ColumnSketch()
        try Self.forEachLine { sketch.add(line: $0, members: $1, object: $2) }
        let parsed = MDSWriter.columns(for: recs)
        #expect(sketch.columns.map(\.name) == parsed.map(\.name) && sketch.columns.map(\.encoding) == parsed.map(\.encoding))
        let w = MDSWriter(folder: "/nonexistent", columns: parsed)
        var i = 0
        try Self.forEachLine { b, members, object in
            let fromBytes = try w.encode(line: b, members: members, object: object), fromParsed = try w.encode(recs[i])
            #expect(fromBytes == fromParsed, "record \(i)")
            i += 1
        }
        #expect(i == recs.count && i > 0)
    }

    @Test(arguments: [("plain", Int32?.none, 1 << 26), ("zstd", Int32?.some(3), 2048)])
    func matchesMDSWriter(_ name: String, _ level: Int32?, _ limit: Int) throws {
        let dir = try TempDir()
        let recs = try Self.records()
        // Through the path the export takes: records as JSON lines, columns and samples from their bytes.
        var sketch = MDSWriter.ColumnSketch()
        try Self.forEachLine { sketch.add(line: $0, members: $1, object: $2) }
        #expect(sketch.columns.map(\.name) == MDSWriter.columns(for: recs).map(\.name))
        var w = MDSWriter(folder: dir.path, columns: sketch.columns, sizeLimit: limit, zstdLevel: level)
        try Self.forEachLine { try w.write(line: $0, members: $1, object: $2) }
        try w.finish()
        let theirs = try JSONScanner.parse(Data(contentsOf: Self.golden.appendingPathComponent("\(name)/index.json"))).objectValue!
        let ours = try JSONScanner.parse(Data(contentsOf: URL(fileURLWithPath: dir.path + "/index.json"))).objectValue!
        let ts = theirs["shards"]!.arrayValue!, os = ours["shards"]!.arrayValue!
        #expect(os.count == ts.count)
        for (o, t) in zip(os.map { $0.objectValue! }, ts.map { $0.objectValue! }) {
            for key in ["column_encodings", "column_names", "column_sizes", "compression", "format", "hashes", "raw_data", "samples", "size_limit", "version"] {
                #expect(o[key] == t[key], "\(name) \(key)")
            }
            let rawName = t["raw_data"]!.objectValue!["basename"]!.stringValue!
            if let zip = t["zip_data"]?.objectValue {
                let zipName = zip["basename"]!.stringValue!
                #expect(o["zip_data"]?.objectValue?["basename"]?.stringValue == zipName)
                let theirRaw = try Data(contentsOf: Self.golden.appendingPathComponent("\(name)/\(zipName)")).withUnsafeBytes { try zstdDecompress($0) }
                let ourRaw = try Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/\(zipName)")).withUnsafeBytes { try zstdDecompress($0) }
                #expect(ourRaw == theirRaw, "\(zipName) before compression")
            } else {
                #expect(o["zip_data"] == .null)
                let theirs = try Data(contentsOf: Self.golden.appendingPathComponent("\(name)/\(rawName)"))
                let ourBytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/\(rawName)"))
                #expect(ourBytes == theirs, "\(rawName)")
            }
        }
        // The index files are the same text, apart from the compressed sizes.
        if level == nil {
            #expect(try String(contentsOf: URL(fileURLWithPath: dir.path + "/index.json"), encoding: .utf8)
                    == String(contentsOf: Self.golden.appendingPathComponent("plain/index.json"), encoding: .utf8))
        }
    }

    @Test func pythonJSONMatchesJsonDumps() {
        // Values of Python's json.dumps, written here by hand.
        #expect(PythonJSON.dumps(.string("é😀\u{7F}\u{01}\"\\/")) == #""\u00e9\ud83d\ude00\u007f\u0001\"\\/""#.replacingOccurrences(of: "\\u007f", with: "\u{7F}"))
        #expect(PythonJSON.dumps(.object(JSONObject([("b", .number("1.50")), ("a", .array([.null, .bool(true), .number("1e-05")]))]))) == #"{"b": 1.5, "a": [null, true, 1e-05]}"#)
        #expect(PythonJSON.dumps(.object(JSONObject([("b", .int(1)), ("a", .int(2))])), sortKeys: true) == #"{"a": 2, "b": 1}"#)
        #expect(PythonJSON.dumps(.number("-0")) == "0")
    }

    /// The byte-level transcoder (the export's path for `json` columns) writes what `dumps`
    /// writes for the parsed value, on random nested values with escapes, non-ASCII text,
    /// floats and whitespace in odd places.
    @Test func transcodeEqualsDumpsOfTheParsedValue() throws {
        var rng = SeededRandom(seed: 7)
        let strings = ["", "plain", "é", "中文😀", "q\"uote", "back\\slash", "tab\t", "\u{01}", "\u{7F}", "x/y", "\u{2028}"]
        let numbers = ["0", "-0", "12", "-7", "1.50", "1e-05", "2E+3", "123456789012345678901234567890", "0.1", "-2.5e-300"]
        func value(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 2 ? 4 : 6), using: &rng) {
            case 0: return .string(strings.randomElement(using: &rng)!)
            case 1: return .number(numbers.randomElement(using: &rng)!)
            case 2: return [.null, .bool(true), .bool(false)].randomElement(using: &rng)!
            case 3: return .string(strings.randomElement(using: &rng)! + strings.randomElement(using: &rng)!)
            case 4: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in value(depth + 1) })
            default:
                return .object(JSONObject((0..<Int.random(in: 0...4, using: &rng)).map { i in (strings.randomElement(using: &rng)! + "\(i)", value(depth + 1)) }))
            }
        }
        for _ in 0..<500 {
            let v = value(0)
            // Compact and spaced source text: the transcoder must not depend on the layout.
            for text in [JSONSerializer.string(v), " " + JSONSerializer.pretty(v) + " "] {
                let bytes = Array(text.utf8)
                let got = try bytes.withUnsafeBytes { b -> [UInt8] in
                    var out: [UInt8] = []
                    var at = 0
                    while b[at] == 0x20 { at += 1 }
                    try PythonJSON.transcode(b, at: at, end: b.count, into: &out)
                    return out
                }
                let parsed = try bytes.withUnsafeBytes { try JSONScanner.parse($0) }
                #expect(String(decoding: got, as: UTF8.self) == PythonJSON.dumps(parsed), "\(text)")
            }
        }
    }
}

@Suite struct MDSExportTests {
    /// `shard` chooses the MDS columns while it writes (one-pass export); they equal the columns a
    /// separate pass over the split chooses, and an export with them is byte-identical to one
    /// without them (a manifest from before `mds_columns`). Records without an id get a derived one.
    @Test func columnsFromShardEqualASeparatePass() throws {
        let dir = try TempDir()
        var lines = try String(contentsOf: MDSGoldenTests.golden.appendingPathComponent("records.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        lines.append(#"{"question": "no id here", "stage": 3, "len_ratio": 0.5}"#)
        _ = try build([try dir.write("in.jsonl", lines: lines)], dir.path + "/out", splits: [("validation", 0.0)])
        let manifestPath = dir.path + "/out/manifest.json"
        var m = try JSONScanner.parse(try Data(contentsOf: URL(fileURLWithPath: manifestPath))).objectValue!
        let known = try #require(m["splits"]?.objectValue?["train"]?.objectValue?["mds_columns"]?.objectValue)
        var records: [Example] = []
        for l in try readSplit(dir.path + "/out", "train") { records.append(try Array(l.utf8).withUnsafeBytes { try Example(bytes: $0) }) }
        let separate = MDSWriter.columns(for: records)
        #expect(known.map { $0.0 } == separate.map(\.name))
        #expect(known.map { $0.1.stringValue ?? "" } == separate.map(\.encoding.rawValue))
        #expect(known["id"] == .string("str"))

        func shardBytes() throws -> [Data] {
            let folder = dir.path + "/out/mds/train"
            return try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)) }
        }
        _ = try MDSExport.run(dataset: dir.path + "/out", sizeLimit: 2048)
        let onePass = try shardBytes()
        var splits = m["splits"]!.objectValue!
        var train = splits["train"]!.objectValue!
        train["mds_columns"] = nil
        splits["train"] = .object(train)
        m["splits"] = .object(splits)
        try writeText(JSONSerializer.pretty(.object(m)), to: manifestPath)
        _ = try MDSExport.run(dataset: dir.path + "/out", sizeLimit: 2048)
        #expect(try shardBytes() == onePass && onePass.count > 2)
    }
}
