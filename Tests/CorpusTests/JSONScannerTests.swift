import Foundation
import Testing
@testable import Corpus
import TestSupport

@Suite struct JSONScannerTests {
    @Test func parsesEveryKind() throws {
        let v = try JSONScanner.parse(#" {"a": [1, -2.5e3, true, false, null, "x\u00e9\n\"\\\/"], "b": {}, "c": [] } "#)
        let o = try #require(v.objectValue)
        #expect(o.keys == ["a", "b", "c"])
        let a = try #require(o["a"]?.arrayValue)
        #expect(a == [.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null, .string("xé\n\"\\/")])
        #expect(o["b"] == .object(JSONObject()))
        #expect(o["c"] == .array([]))
    }

    @Test func keepsNumberLexemesAndKeyOrder() throws {
        let text = #"{"z":1.0,"a":12345678901234567890123,"m":-0.0,"e":1E+2}"#
        let v = try JSONScanner.parse(text)
        #expect(JSONSerializer.string(v) == text)
        #expect(v.objectValue?["z"]?.kind == .number)
        #expect(v.objectValue?["a"]?.kind == .integer)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONScanner.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONScanner.parse("\"😀\"") == .string("😀"))
    }

    /// Each malformed text with the reason it must be refused for.
    static let invalid: [(String, String)] = [
        ("", "json.syntax"), ("{", "json.syntax"), ("{\"a\":}", "json.syntax"), ("{\"a\" 1}", "json.syntax"),
        ("{\"a\":1,}", "json.syntax"), ("[1,]", "json.syntax"), ("[1 2]", "json.syntax"), ("{a:1}", "json.syntax"),
        ("01", "json.syntax"), ("1.", "json.syntax"), (".5", "json.syntax"), ("1e", "json.syntax"), ("-", "json.syntax"),
        ("NaN", "json.syntax"), ("Infinity", "json.syntax"), ("tru", "json.syntax"), ("nul", "json.syntax"),
        ("\"abc", "json.syntax"), ("\"a\u{01}b\"", "json.syntax"), ("\"\t\"", "json.syntax"), ("{} {}", "json.syntax"),
        ("\"\\x\"", "json.escape"), ("\"\\u12\"", "json.escape"), ("\"\\ud800\"", "json.escape"), ("\"\\udc00\"", "json.escape"),
        ("\"\\ud800\\u0041\"", "json.escape"), ("\"\\uZZZZ\"", "json.escape"),
        ("{\"a\":1,\"a\":2}", "json.duplicate_key"), ("{\"a\":1,\"\\u0061\":2}", "json.duplicate_key"), ("[{\"k\":1,\"k\":1}]", "json.duplicate_key"),
    ]

    @Test(arguments: invalid) func refusesMalformed(_ text: String, _ code: String) {
        do {
            _ = try JSONScanner.parse(text)
            Issue.record("accepted \(text)")
        } catch let e as JSONParseError {
            #expect(e.code == code, "\(text): \(e)")
        } catch { Issue.record("unexpected \(error)") }
    }

    /// Invalid UTF-8 inside strings: overlong, surrogate, out of range, truncated, stray continuation.
    static let badUTF8: [[UInt8]] = [[0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF0, 0x80, 0x80, 0x80],
                                     [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xE2, 0x82], [0xC3]]

    @Test(arguments: badUTF8) func refusesInvalidUTF8(_ seq: [UInt8]) {
        let doc: [UInt8] = Array("{\"k\":\"ab".utf8) + seq + Array("cd\"}".utf8)
        do {
            _ = try JSONScanner.parse(doc)
            Issue.record("accepted \(seq)")
        } catch let e as JSONParseError {
            #expect(e.code == "json.utf8", "\(seq): \(e)")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func validMultibyteAtEveryAlignment() throws {
        // Non-ASCII bytes at every offset relative to the 8-byte fast path.
        for pad in 0..<17 {
            let s = String(repeating: "a", count: pad) + "é€😀" + String(repeating: "b", count: pad)
            #expect(try JSONScanner.parse("\"" + s + "\"") == .string(s))
            #expect(throws: JSONParseError.self) { try JSONScanner.parse("\"" + s) }
        }
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect { try JSONScanner.parse(deep) } throws: { ($0 as? JSONParseError)?.code == "json.too_deep" }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONScanner.parse(ok) }
    }

    @Test func scanObjectLocatesMembers() throws {
        var text = #"  {"id":"x","n":[1,{"a":2}],"s":"a\"b"}  "#
        let (members, range) = try text.withUTF8 { try JSONScanner.scanObject(UnsafeRawBufferPointer($0)) }
        #expect(members.map(\.key) == ["id", "n", "s"])
        #expect(members.map(\.kind) == [.string, .array, .string])
        let bytes = Array(text.utf8)
        #expect(String(decoding: bytes[range], as: UTF8.self) == #"{"id":"x","n":[1,{"a":2}],"s":"a\"b"}"#)
        // Member ranges are relative to the object's first byte.
        let object = Array(bytes[range])
        #expect(String(decoding: object[members[1].range], as: UTF8.self) == #"[1,{"a":2}]"#)
        let s = try object.withUnsafeBytes { try JSONScanner.decodeString($0, at: members[2].range.lowerBound) }
        #expect(s == "a\"b")
    }

    /// scanObject applies the same duplicate rule as parse, whatever the spelling of the key.
    @Test func scanObjectRefusesDuplicateKeys() {
        for text in [#"{"a":1,"a":2}"#, #"{"a":1,"\u0061":2}"#, #"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k1":0}"#] {
            var t = text
            #expect { try t.withUTF8 { _ = try JSONScanner.scanObject(UnsafeRawBufferPointer($0)) } } throws: {
                ($0 as? JSONParseError)?.code == "json.duplicate_key"
            }
        }
    }

    @Test func scanObjectRefusesNonObjects() {
        for text in ["[1]", "\"s\"", "3", "null"] {
            var t = text
            #expect { try t.withUTF8 { _ = try JSONScanner.scanObject(UnsafeRawBufferPointer($0)) } } throws: {
                ($0 as? JSONParseError)?.code == "json.not_object"
            }
        }
    }

    /// Random values through serialize → parse, checked by Foundation's parser as an oracle.
    @Test func randomRoundTrip() throws {
        var rng = SeededRandom(seed: 42)
        for _ in 0..<300 {
            let v = randomJSON(&rng, depth: 0)
            let bytes = JSONSerializer.bytes(v)
            let back = try JSONScanner.parse(bytes)
            #expect(back == v)
            let oracle = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            if case .string(let s) = v { #expect(oracle as? String == s) }
            if case .object(let o) = v { #expect((oracle as? [String: Any])?.count == o.count) }
        }
    }
}

/// Strings mixing ASCII, escapes, controls, combining marks, CJK and emoji.
func randomText(_ rng: inout SeededRandom, maxLength: Int = 40) -> String {
    let pieces = ["a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\r", "\u{01}", "\u{7F}", "é", "e\u{301}", "中文", "😀", "👩‍👩‍👧", "\u{2028}", "{", "}", "[", ",", ":", "0"]
    let n = Int.random(in: 0...maxLength, using: &rng)
    return (0..<n).map { _ in pieces.randomElement(using: &rng)! }.joined()
}

func randomJSON(_ rng: inout SeededRandom, depth: Int) -> JSONValue {
    switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .int(Int.random(in: -1_000_000...1_000_000, using: &rng))
    case 3: return .number(["0.5", "-1.25e-7", "3.0", "1E+300", "123456789012345678901234567890"].randomElement(using: &rng)!)
    case 4: return .string(randomText(&rng))
    case 5: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomJSON(&rng, depth: depth + 1) })
    default:
        var o = JSONObject()
        for _ in 0..<Int.random(in: 0...5, using: &rng) { o[randomText(&rng, maxLength: 6)] = randomJSON(&rng, depth: depth + 1) }
        return .object(o)
    }
}
