import Foundation
import Testing
@testable import Model

/// The cached default model, when it has been fetched (`cotforge model fetch smollm2`; CI does).
let realModelPath: String? = {
    guard let m = ModelStore.model(named: "smollm2") else { return nil }
    let p = ModelStore.path(for: m)
    return FileManager.default.fileExists(atPath: p) ? p : nil
}()

/// Our reader against llama.cpp's gguf-py on the real file (Fixtures/smollm2-gguf-golden.json,
/// written by scripts/reference/make_model_golden.py).
@Suite(.enabled(if: realModelPath != nil, "needs the default model: run `cotforge model fetch smollm2`"))
struct RealModelTests {
    struct Golden: Decodable {
        struct Meta: Decodable {
            let type: String?; let value: JSONAny?
            let array_of: String?; let count: Int?; let head: [JSONAny]?; let tail: [JSONAny]?
        }
        struct Tensor: Decodable { let name: String; let dims: [Int]; let type: String; let offset: Int }
        struct Sample: Decodable { let tensor: String; let head: [Float]; let tail: [Float]; let sum: Double }
        let file_size: Int
        let metadata: [String: Meta]
        let tensors: [Tensor]
        let samples: [String: Sample]
    }

    /// A JSON scalar from the fixture.
    enum JSONAny: Decodable, Equatable {
        case int(Int), double(Double), string(String)
        init(from d: Decoder) throws {
            let c = try d.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .int(i) } else if let x = try? c.decode(Double.self) { self = .double(x) } else { self = .string(try c.decode(String.self)) }
        }
        func matches(_ v: GGUFValue) -> Bool {
            switch self {
            case .int(let i): return v.intValue == i || (v.boolValue.map { ($0 ? 1 : 0) == i } ?? false) || v.doubleValue == Double(i)
            case .double(let x): return v.doubleValue.map { abs($0 - x) <= 1e-9 * max(1, abs(x)) } ?? false
            case .string(let s): return v.stringValue == s
            }
        }
    }

    static func golden() throws -> Golden {
        let url = try #require(Bundle.module.url(forResource: "smollm2-gguf-golden", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    @Test func metadataAndTensorTableMatchGGUFPy() throws {
        let g = try Self.golden()
        let f = try GGUFFile(path: realModelPath!)
        #expect(f.fileSize == g.file_size)
        #expect(f.metadata.count == g.metadata.count)
        for (key, m) in g.metadata {
            let v = try #require(f[key], "missing \(key)")
            if let arrayOf = m.array_of {
                guard case .array(let t, let items) = v else { Issue.record("\(key) is not an array"); continue }
                #expect("\(t)".uppercased() == arrayOf, "\(key)")
                #expect(items.count == m.count, "\(key)")
                for (a, b) in zip(m.head ?? [], items.prefix(3)) { #expect(a.matches(b), "\(key) head") }
                for (a, b) in zip(m.tail ?? [], items.suffix(3)) { #expect(a.matches(b), "\(key) tail") }
            } else {
                #expect("\(v.type)".uppercased() == m.type, "\(key)")
                #expect(m.value?.matches(v) == true, "\(key): \(v)")
            }
        }
        #expect(f.tensors.count == g.tensors.count)
        for (t, e) in zip(f.tensors, g.tensors) {
            #expect(t.name == e.name && t.dims == e.dims && t.typeName == e.type && t.offset == e.offset, "\(t.name)")
        }
    }

    @Test func dequantizedTensorsMatchGGUFPy() throws {
        let g = try Self.golden()
        let f = try GGUFFile(path: realModelPath!)
        for (type, s) in g.samples {
            let t = try #require(f.tensor(s.tensor))
            let values = try Dequantize.tensor(f, t)
            for (a, b) in zip(values.prefix(64), s.head) { #expect(abs(a - b) <= 2e-7 * max(1, abs(b)), "\(type) head") }
            for (a, b) in zip(values.suffix(64), s.tail) { #expect(abs(a - b) <= 2e-7 * max(1, abs(b)), "\(type) tail") }
            let sum = values.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - s.sum) <= 1e-6 * max(1, abs(s.sum)), "\(type) sum \(sum) vs \(s.sum)")
        }
    }

    @Test func summaryReadsTheArchitecture() throws {
        let s = ModelSummary(try GGUFFile(path: realModelPath!))
        #expect(s.architecture == "llama" && s.unsupportedTypes.isEmpty)
        #expect(s.hyperparameters.first { $0.0 == "layers" }?.1 == "30")
        #expect(s.typeCounts.map(\.0) == ["Q4_1", "F32", "Q8_0"])
    }
}
