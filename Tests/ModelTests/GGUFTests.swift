import Foundation
import Testing
@testable import Model
import TestSupport

/// A small GGUF with every metadata type and a few tensors.
func sampleWriter() -> GGUFWriter {
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    w.set("general.name", .string("tiny ünïcode"))
    w.set("u8", .uint8(200)); w.set("i8", .int8(-3)); w.set("u16", .uint16(65000)); w.set("i16", .int16(-300))
    w.set("u32", .uint32(4_000_000_000)); w.set("i32", .int32(-7)); w.set("u64", .uint64(1 << 40)); w.set("i64", .int64(-(1 << 40)))
    w.set("f32", .float32(0.5)); w.set("f64", .float64(-2.25)); w.set("yes", .bool(true))
    w.set("tokens", .array(elementType: .string, [.string("a"), .string("<|im_start|>"), .string("")]))
    w.set("nested", .array(elementType: .array, [.array(elementType: .int32, [.int32(1), .int32(2)])]))
    w.addTensor("a.weight", dims: [4, 2], floats: [1, 2, 3, 4, 5, 6, 7, 8])
    w.addTensor("b.weight", dims: [3], floats: [-1, 0, 1])
    w.addTensor("c.weight", dims: [32], type: .q8_0, raw: [0x00, 0x3C] + (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) })
    return w
}

@Suite struct GGUFReaderTests {
    @Test func roundTripsEveryValueType() throws {
        let dir = try TempDir()
        let path = dir.path + "/tiny.gguf"
        try sampleWriter().write(to: path)
        let f = try GGUFFile(path: path)
        #expect(f.version == 3)
        #expect(f.architecture == "llama")
        #expect(f["general.name"]?.stringValue == "tiny ünïcode")
        #expect(f["u8"] == .uint8(200) && f["i16"] == .int16(-300) && f["u64"] == .uint64(1 << 40) && f["f64"] == .float64(-2.25))
        #expect(f["tokens"]?.arrayValue?.compactMap(\.stringValue) == ["a", "<|im_start|>", ""])
        #expect(f["nested"]?.arrayValue?.first?.arrayValue == [.int32(1), .int32(2)])
        #expect(f.metadata.map(\.key) == sampleWriter().metadata.map(\.key))
        let a = try #require(f.tensor("a.weight"))
        #expect(a.dims == [4, 2] && a.type == .f32 && a.offset % 32 == 0)
        #expect(try Dequantize.tensor(f, a) == [1, 2, 3, 4, 5, 6, 7, 8])
        let c = try #require(f.tensor("c.weight"))
        #expect(try Dequantize.tensor(f, c) == (0..<32).map { Float($0 - 16) })  // d = 1.0 (0x3C00)
    }

    @Test func readsVersion2() throws {
        let dir = try TempDir()
        var b = sampleWriter().bytes()
        b[4] = 2  // v2 has the same layout as v3 for little-endian files
        let f = try GGUFFile(path: try dir.write("v2.gguf", b))
        #expect(f.version == 2 && f.tensors.count == 3)
    }

    @Test func customAlignment() throws {
        let dir = try TempDir()
        var w = sampleWriter()
        w.alignment = 64
        try w.write(to: dir.path + "/a.gguf")
        let f = try GGUFFile(path: dir.path + "/a.gguf")
        #expect(f.alignment == 64 && f.tensors.allSatisfy { $0.offset % 64 == 0 })
        #expect(try Dequantize.tensor(f, f.tensor("b.weight")!) == [-1, 0, 1])
    }
}

/// Hand-made corrupt files, one per failure class, each with the error it must produce.
@Suite struct GGUFCorruptionTests {
    static func patched(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var b = sampleWriter().bytes()
        edit(&b)
        return b
    }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    /// Offset of the first tensor info (after the metadata).
    static func tensorInfoStart() -> Int {
        var w = sampleWriter()
        w.tensors = []
        return w.bytes().count - ((w.bytes().count % 32 == 0) ? 0 : 0)
    }

    static let cases: [(String, [UInt8], String)] = [
        ("empty", [], "too short"),
        ("bad magic", patched { $0[0] = 0x47; $0[1] = 0x47; $0[2] = 0x4D; $0[3] = 0x4C }, "bad magic"),
        ("version 1", patched { $0[4] = 1 }, "version 1 is not supported"),
        ("version 9", patched { $0[4] = 9 }, "unknown GGUF version 9"),
        ("big-endian", patched { $0[4] = 0; $0[7] = 3 }, "big-endian"),
        ("truncated header", Array(sampleWriter().bytes().prefix(40)), "file ends inside"),
        ("absurd tensor count", patched { $0.replaceSubrange(8..<16, with: u64(1 << 40)) }, "tensor count"),
        ("absurd metadata count", patched { $0.replaceSubrange(16..<24, with: u64(UInt64.max)) }, "metadata count"),
        ("huge string length", patched { $0.replaceSubrange(24..<32, with: u64(1 << 40)) }, "length of metadata key"),
        ("truncated tensor data", Array(sampleWriter().bytes().dropLast(40)), "extends past the end"),
        ("duplicate key", { var w = sampleWriter(); w.metadata.append(("u8", .uint8(1))); return w.bytes() }(), "appears twice"),
        ("duplicate tensor", { var w = sampleWriter(); w.addTensor("a.weight", dims: [1], floats: [0]); return w.bytes() }(), "tensor a.weight appears twice"),
        ("overflowing dimensions", { var w = GGUFWriter(); w.addTensor("x", dims: [1 << 62, 1 << 62], type: .f32, raw: []); return w.bytes() }(), "overflow"),
        ("too many dimensions", { var w = GGUFWriter(); w.addTensor("x", dims: [1, 1, 1, 1, 1], floats: [0]); return w.bytes() }(), "dimensions (1…4 allowed)"),
        ("zero dimension", { var w = GGUFWriter(); w.addTensor("x", dims: [0], floats: []); return w.bytes() }(), "has dimension 0"),
        ("block size mismatch", { var w = GGUFWriter(); w.addTensor("x", dims: [31], type: .q8_0, raw: [UInt8](repeating: 0, count: 34)); return w.bytes() }(), "not a multiple of the Q8_0 block size"),
        ("bad value type", { var w = GGUFWriter(); w.set("k", .uint8(1)); var b = w.bytes(); b[24 + 8 + 1] = 99; return b }(), "unknown value type 99"),
        ("bad bool", { var w = GGUFWriter(); w.set("k", .bool(true)); var b = w.bytes(); b[24 + 8 + 1 + 4] = 7; return b }(), "bool byte is 7"),
    ]

    @Test(arguments: cases.map { ($0.0, $0.2) })
    func refused(_ name: String, _ expected: String) throws {
        let bytes = Self.cases.first { $0.0 == name }!.1
        let dir = try TempDir()
        let path = try dir.write("bad.gguf", bytes)
        do {
            _ = try GGUFFile(path: path)
            Issue.record("\(name): accepted")
        } catch let e as GGUFError {
            #expect(e.description.contains(expected), "\(name): \(e)")
            #expect(e.path == path)
        }
    }

    @Test func unsupportedTypeIsNamedWithTheSupportedList() throws {
        let dir = try TempDir()
        var w = GGUFWriter()
        w.addTensor("q", dims: [256], type: .q3_K, raw: [UInt8](repeating: 0, count: 110))
        try w.write(to: dir.path + "/q3.gguf")
        let f = try GGUFFile(path: dir.path + "/q3.gguf")  // the header is fine
        #expect { try Dequantize.tensor(f, f.tensor("q")!) } throws: {
            "\($0)".contains("Q3_K") && "\($0)".contains("supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K")
        }
    }
}

@Suite struct DequantizeGoldenTests {
    struct Golden: Decodable {
        struct Entry: Decodable { let block: Int; let type_size: Int; let raw_hex: String; let values: [Float] }
        let generator: String
        let types: [String: Entry]
    }

    static func golden() throws -> Golden {
        let url = try #require(Bundle.module.url(forResource: "quant-golden", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let a = it.next(), let b = it.next() {
            func v(_ c: UInt8) -> UInt8 { c >= 97 ? c - 87 : c - 48 }
            out.append(v(a) << 4 | v(b))
        }
        return out
    }

    /// Every supported quantized type against llama.cpp's gguf-py; the values must match to the
    /// last bit except for float rounding order (one ulp relative).
    @Test(arguments: ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q6_K"])
    func matchesGGUFPy(_ name: String) throws {
        let g = try Self.golden()
        let e = try #require(g.types[name])
        let type = try #require(GGMLType.allCases.first { $0.name == name })
        #expect(type.blockSize == e.block && type.typeSize == e.type_size)
        let raw = Self.hex(e.raw_hex)
        var out = [Float](repeating: .nan, count: e.values.count)
        try raw.withUnsafeBytes { src in
            try out.withUnsafeMutableBufferPointer { try Dequantize.row(type, src.baseAddress!, count: e.values.count, into: $0.baseAddress!) }
        }
        var worst: Float = 0
        for (a, b) in zip(out, e.values) { worst = max(worst, abs(a - b) / max(abs(b), 1e-6)) }
        #expect(worst <= 2e-7, "\(name): worst relative error \(worst)")
    }
}
