import Foundation
import Testing
@testable import Corpus
import TestSupport

@Suite struct RecordReaderTests {
    /// One line of every failure class, with the reason it must be rejected for.
    static let badLines: [(line: [UInt8], reason: String)] = [
        (Array(#"{"id": "a", "question": "q"#.utf8), "json.syntax"),
        (Array("not json at all".utf8), "json.syntax"),
        (Array(#"["an", "array"]"#.utf8), "json.not_object"),
        (Array(#""a string""#.utf8), "json.not_object"),
        (Array(#"{"id": "b"}"#.utf8), "schema.required"),
        (Array(#"{"id": 7, "question": "q"}"#.utf8), "schema.type"),
        (Array(#"{"id": "c", "question": ["q"]}"#.utf8), "schema.type"),
        (Array(#"{"id": "d", "question": "q", "tokens": {"prompt": -1}}"#.utf8), "schema.minimum"),
        (Array(#"{"id": "e", "question": "q", "mode": "medium"}"#.utf8), "schema.enum"),
        (Array(#"{"id": "f", "question": "q", "verdicts": [{"by": "x"}]}"#.utf8), "schema.required"),
        (Array(#"{"id": "g", "question": "q", "gen": {"model_sha256": "xyz"}}"#.utf8), "schema.pattern"),
        (Array(#"{"id": "", "question": "q"}"#.utf8), "schema.min_length"),
        (Array(#"{"id": "h", "question": "q", "id": "h"}"#.utf8), "json.duplicate_key"),
        (Array(#"{"id": "i", "question": "caf"#.utf8) + [0xE9] + Array(#""}"#.utf8), "json.utf8"),
        ([0xFF, 0xFE, 0x00, 0x7B], "json.syntax"),
        (Array(#"{"id": "j", "question": "\ud800"}"#.utf8), "json.escape"),
    ]

    @Test func everyBadLineIsRejectedWithReasonAndLine() throws {
        let dir = try TempDir()
        let good = Array(#"{"id": "ok-1", "question": "What is 2+2?", "answer": "4", "extra": {"kept": [1, 2]}}"#.utf8)
        var file: [UInt8] = []
        for (i, b) in Self.badLines.enumerated() {
            file += b.line + [0x0A]
            if i % 4 == 0 { file += Array("   \n".utf8) }  // blank lines are not records
        }
        file += good + [0x0A]
        file += Array(#"{"question": "no id here"}"#.utf8)  // last line without newline
        let path = try dir.write("mixed.jsonl", file)

        var kept: [(String, Int, Bool)] = []
        var rejects: [Reject] = []
        let reader = RecordReader(path: path)
        try reader.forEach({ kept.append(($0.id, $0.line, $0.idDerived)) }, onReject: { rejects.append($0) })

        #expect(rejects.map(\.reason) == Self.badLines.map(\.reason))
        #expect(kept.map(\.0) == ["ok-1", "mixed-\(kept.last?.1 ?? 0)"])
        #expect(kept.last?.2 == true)
        #expect(reader.blankLines == 4)
        // Counts add up: every non-blank line is kept or rejected.
        let nonBlankLines = Self.badLines.count + 2
        #expect(kept.count + rejects.count == nonBlankLines)
        // Line numbers count blank lines too, so they point at the file as an editor shows it.
        var expectedLine = 1
        for (i, r) in rejects.enumerated() {
            #expect(r.line == expectedLine, "\(r.reason)")
            #expect(r.file == path)
            expectedLine += 1 + (i % 4 == 0 ? 1 : 0)
        }
        // Nothing is lost: the reject carries the line (text, base64, or the record itself).
        for (r, bad) in zip(rejects, Self.badLines) {
            switch r.payload {
            case .raw(let s): #expect(Array(s.utf8) == bad.line)
            case .rawBase64(let s): #expect(Data(base64Encoded: s).map(Array.init) == bad.line)
            case .record(let b): #expect(b == bad.line)
            }
            let json = try JSONScanner.parse(r.jsonBytes)
            #expect(JSONSchema.reject.validate(json) == nil)
        }
    }

    @Test func overLimitLineIsRejectedAndReaderContinues() throws {
        let dir = try TempDir()
        let big = #"{"id": "big", "question": ""# + String(repeating: "q", count: 5000) + #""}"#
        let path = try dir.write("x.jsonl", Array((big + "\n" + #"{"id":"small","question":"q"}"# + "\n").utf8))
        var opts = RecordReader.Options()
        opts.maxLineBytes = 1000
        var kept: [String] = [], reasons: [String] = []
        try RecordReader(path: path, options: opts).forEach({ kept.append($0.id) }, onReject: {
            reasons.append($0.reason)
            #expect($0.truncated && $0.rawBytes == big.utf8.count)
        })
        #expect(kept == ["small"])
        #expect(reasons == ["line.too_long"])
    }

    @Test func derivedIdIsSplicedFirst() throws {
        let dir = try TempDir()
        let plain = Array(#"{"question":"q","x":1}"#.utf8)
        let frame = try plain.withUnsafeBytes { try ZstdCompressor().compressFrame($0) { Array($0) } }
        let path = try dir.write("gsm8k.jsonl.zst", frame)
        var written: [UInt8] = []
        try RecordReader(path: path).forEach({ $0.appendWriteBytes(to: &written) }, onReject: { Issue.record("rejected \($0.reason)") })
        #expect(String(decoding: written, as: UTF8.self) == #"{"id":"gsm8k-1","question":"q","x":1}"#)
    }

    @Test func missingFileIsAClearError() {
        #expect { try RecordReader(path: "/nonexistent/x.jsonl").forEach({ _ in }, onReject: { _ in }) } throws: {
            "\($0)".contains("/nonexistent/x.jsonl") && "\($0)".contains("No such file")
        }
    }

    @Test func exampleKeepsUnknownFieldsThroughRoundTrip() throws {
        let text = #"{"id":"x","question":"q","zzz":{"nested":[1,2.50,{"deep":null}]},"a":true}"#
        let e = try Example(json: text)
        #expect(e.jsonString == text)
        var e2 = e
        e2.reasoning = "thought"
        #expect(e2.fields.keys == ["id", "question", "zzz", "a", "reasoning"])
        #expect(e2.fields["zzz"] == e.fields["zzz"])
    }
}

@Suite struct SchemaTests {
    /// The schema files in the repository are exactly the built-in literals.
    @Test func schemaFilesMatchBuiltIns() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for (file, text) in Schemas.all {
            let onDisk = try String(contentsOf: root.appendingPathComponent("schemas/\(file)"), encoding: .utf8)
            #expect(onDisk == text + "\n", "schemas/\(file) differs: run `cotforge schema --write schemas`")
            _ = try JSONSchema(text: text)
        }
    }

    @Test func validatorCases() throws {
        let s = JSONSchema.example
        func check(_ t: String) throws -> String? { s.validate(try JSONScanner.parse(t))?.code }
        #expect(try check(#"{"id":"a","question":"q"}"#) == nil)
        #expect(try check(#"{"id":"a","question":"q","stage":2.0}"#) == nil)  // 2.0 is an integer in JSON Schema
        #expect(try check(#"{"id":"a","question":"q","stage":2.5}"#) == "schema.type")
        #expect(try check(#"{"id":"a","question":"q","gen":{"sampler":{"top_p":1.5}}}"#) == "schema.maximum")
        #expect(try check(#"{"id":"a","question":"q","task":null,"gold":null}"#) == nil)
        #expect(try check(#"{"id":"a"}"#) == "schema.required")
        #expect(s.validate(try JSONScanner.parse(#"{"id":"a","question":"q","gen":{"steer":{"layers":[1,-2]}}}"#))?.path == "gen.steer.layers[1]")
    }

    /// The in-place check (`validateMember(…object:range:)`) and the tree check agree on every
    /// record: fields of the schema filled with random values of random kinds, nested too.
    @Test func inPlaceCheckAgreesWithTreeCheck() throws {
        var rng = SeededRandom(seed: 99)
        let fields = ["id", "task", "source", "question", "mode", "tokens", "len_ratio", "stage", "gen", "verdicts", "extra"]
        func value(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<9, using: &rng) {
            case 0: return .string(["math", "fast", "x", "", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"].randomElement(using: &rng)!)
            case 1: return .number(["0", "3", "-1", "2.0", "0.5", "1.5", "-0.0"].randomElement(using: &rng)!)
            case 2: return .null
            case 3: return .bool(true)
            case 4 where depth < 3:
                let keys = ["name", "index", "prompt", "reasoning", "steer", "layers", "alpha", "sampler", "top_p", "model_sha256", "by", "keep", "score", "a\"b"]
                var o = JSONObject()
                for _ in 0..<Int.random(in: 0...4, using: &rng) { o[keys.randomElement(using: &rng)!] = value(depth + 1) }
                return .object(o)
            case 5 where depth < 3: return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in value(depth + 1) })
            default: return randomJSON(&rng, depth: depth + 2)
            }
        }
        let checker = RecordChecker()
        var disagreements = 0, invalid = 0
        for _ in 0..<3000 {
            var o = JSONObject([("id", .string("r")), ("question", .string("q"))])
            for _ in 0..<Int.random(in: 1...4, using: &rng) { o[fields.randomElement(using: &rng)!] = value(0) }
            let bytes = JSONSerializer.bytes(.object(o))
            let tree = JSONSchema.example.validate(.object(o))
            let inPlace: String? = bytes.withUnsafeBytes {
                if case .invalid(let reason, _, _, _) = checker.check($0) { return reason } else { return nil }
            }
            if tree != nil { invalid += 1 }
            if tree?.code != inPlace { disagreements += 1; Issue.record("\(String(decoding: bytes, as: UTF8.self)): tree \(String(describing: tree)) vs in place \(String(describing: inPlace))") }
            if disagreements > 5 { break }
        }
        #expect(invalid > 300)  // the generator does produce invalid records
    }

    @Test func unsupportedKeywordsAreRefused() {
        #expect(throws: SchemaViolation.self) { try JSONSchema(text: #"{"oneOf": []}"#) }
    }
}

@Suite struct SplitAssignerTests {
    @Test func sameKeySameSplitAndFractionsHold() throws {
        let a = try SplitAssigner(fractions: [("validation", 0.1), ("test", 0.2)], seed: 1)
        var counts: [String: Int] = [:]
        for i in 0..<20_000 {
            let s = a.split(forKey: "question \(i)")
            #expect(a.split(forKey: "question \(i)") == s)
            counts[s, default: 0] += 1
        }
        // Binomial: 4 standard deviations is ±170 at n = 20000, p = 0.1.
        #expect(abs(counts["validation", default: 0] - 2000) < 170)
        #expect(abs(counts["test", default: 0] - 4000) < 230)
        let b = try SplitAssigner(fractions: [("validation", 0.1)], seed: 2)
        #expect((0..<100).contains { a.split(forKey: "q\($0)") != b.split(forKey: "q\($0)") })
    }

    @Test func badSplitsAreRefused() {
        #expect(throws: SplitError.self) { try SplitAssigner(fractions: [("validation", 0.7), ("test", 0.5)], seed: 1) }
        #expect(throws: SplitError.self) { try SplitAssigner(fractions: [("train", 0.1)], seed: 1) }
        #expect(throws: SplitError.self) { try SplitAssigner(fractions: [("Bad Name", 0.1)], seed: 1) }
        #expect(throws: SplitError.self) { try SplitAssigner(fractions: [("v", -0.1)], seed: 1) }
    }
}
