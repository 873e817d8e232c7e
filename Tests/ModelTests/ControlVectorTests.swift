import Foundation
import Testing
@testable import Model
import TestSupport

/// Control vectors in llama.cpp's GGUF format, and steering in the forward pass.
@Suite struct ControlVectorTests {
    static var golden: String { Bundle.module.url(forResource: "cvec-golden", withExtension: "gguf", subdirectory: "Fixtures")!.path }

    /// The golden file (written by gguf-py as repeng and cvector-generator write them, see
    /// scripts/reference/control_vector_reference.py) loads and is written back byte for byte.
    @Test func goldenFileRoundTrips() throws {
        let v = try ControlVector(path: Self.golden)
        #expect(v.modelHint == "llama" && v.width == 576 && v.directions.keys.sorted() == Array(8...14))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.golden)))
        #expect(v.bytes() == bytes)
        // Norm 4 each, as the script made them.
        for d in v.directions.values { #expect(abs(sqrt(d.reduce(0) { $0 + $1 * $1 }) - 4) < 1e-4) }
    }

    /// A vector made here reads back with the same directions and writes the same bytes again.
    @Test func madeHereRoundTrips() throws {
        let dir = try TempDir()
        var rng = SeededRandom(seed: 3)
        let dirs = Dictionary(uniqueKeysWithValues: [1, 5, 6].map { n in (n, (0..<16).map { _ in Float.random(in: -1...1, using: &rng) }) })
        let v = try ControlVector(modelHint: "llama", directions: dirs)
        try v.write(to: dir.path + "/v.gguf")
        let back = try ControlVector(path: dir.path + "/v.gguf")
        #expect(back.directions == dirs && back.modelHint == "llama" && back.width == 16)
        #expect(back.bytes() == v.bytes())
        let f = try GGUFFile(path: dir.path + "/v.gguf")
        #expect(f.architecture == "controlvector" && f["controlvector.layer_count"]?.intValue == 3)
        #expect(f.tensors.map(\.name) == ["direction.1", "direction.5", "direction.6"])
    }

    /// Wrong files and wrong fits are errors that say what is wrong.
    @Test func badVectorsAreClearErrors() throws {
        let dir = try TempDir()
        #expect(throws: GGUFError.self) { try ControlVector(modelHint: "llama", directions: [0: [1, 2]]) }
        #expect(throws: GGUFError.self) { try ControlVector(modelHint: "llama", directions: [1: [1, 2], 2: [1]]) }
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.addTensor("direction.1", dims: [4], floats: [1, 2, 3, 4])
        try w.write(to: dir.path + "/model.gguf")
        #expect { try ControlVector(path: dir.path + "/model.gguf") } throws: { e in
            (e as? GGUFError)?.message.contains("not \"controlvector\"") == true
        }
        let m = try tinyModel()
        let wide = try ControlVector(modelHint: "llama", directions: [1: [Float](repeating: 0, count: 17)])
        #expect(throws: GGUFError.self) { try wide.check(against: m.config) }
        let deep = try ControlVector(modelHint: "llama", directions: [2: [Float](repeating: 0, count: 16)])
        #expect(throws: GGUFError.self) { try deep.check(against: m.config) }  // the tiny model has blocks 0 and 1
    }

    /// Steering block 1 changes block 1's output by exactly α·v at every position (and block
    /// 0's not at all); a vector for a block the model does not have, or a layer range that
    /// leaves out every direction, changes nothing.
    @Test func steeringAddsExactlyAlphaV() throws {
        let m = try tinyModel()
        let tokens: [Int32] = [3, 17, 5, 39]
        func run(_ s: Steering?) throws -> (logits: [Float], blocks: [[Float]]) {
            var cache = m.makeCache()
            var blocks: [[Float]] = [[], []]
            let logits = try m.forward(tokens, cache: &cache, allLogits: true, steering: s) { l, x in blocks[l] = Array(x) }
            return (logits, blocks)
        }
        let plain = try run(nil)
        var rng = SeededRandom(seed: 5)
        let v = (0..<16).map { _ in Float.random(in: -1...1, using: &rng) }
        let cv = try ControlVector(modelHint: "llama", directions: [1: v])
        let steered = try run(cv.steering(alpha: -0.6))
        #expect(steered.blocks[0] == plain.blocks[0])
        let want = plain.blocks[1].enumerated().map { i, x in x + v[i % 16] * -0.6 }
        #expect(steered.blocks[1] == want)
        #expect(steered.logits != plain.logits)
        #expect(try run(Steering(vectors: [7: v])).logits == plain.logits)
        #expect(try run(cv.steering(alpha: 2, layers: 2...9)).logits == plain.logits)
        #expect(try run(cv.steering(alpha: 0)).logits == plain.logits)
    }

    /// Steering holds during decoding too: one token at a time through the cache gives what one
    /// pass over the sequence gives.
    @Test func steeringDuringDecodeEqualsPrefill() throws {
        let m = try tinyModel()
        let v = (0..<16).map { Float($0) / 16 - 0.5 }
        let s = try ControlVector(modelHint: "llama", directions: [1: v]).steering(alpha: 0.7)
        let tokens: [Int32] = [3, 17, 5, 39, 0]
        var full = m.makeCache()
        let all = try m.forward(tokens, cache: &full, allLogits: true, steering: s)
        var inc = m.makeCache()
        for (i, t) in tokens.enumerated() {
            let l = try m.forward([t], cache: &inc, steering: s)
            #expect(close(l, Array(all[(i * 40)..<((i + 1) * 40)])), "position \(i)")
        }
    }
}

/// The golden control vector applied by llama.cpp and by us to the same F32 model with the
/// same scale (Fixtures/cvec-llama-cpp.json): the same greedy tokens, logits to float rounding.
@Suite(.enabled(if: realModelPath != nil, "needs the default model: run `cotforge model fetch smollm2`"))
struct ControlVectorParityTests {
    struct Fixture: Decodable {
        struct Chat: Decodable { let question: String; let prompt_ids: [Int32]; let plain: [Int32]; let steered: [Int32]; let top10: [[[Double]]] }
        let alpha: Float
        let layers: [Int]
        let chats: [Chat]
    }

    @Test func steeredGreedyMatchesLlamaCpp() throws {
        let url = try #require(Bundle.module.url(forResource: "cvec-llama-cpp", withExtension: "json", subdirectory: "Fixtures"))
        let fx = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let m = try #require(LlamaCppParityTests.exact)
        let cv = try ControlVector(path: ControlVectorTests.golden)
        try cv.check(against: m.config)
        #expect(cv.directions.keys.sorted() == fx.layers)
        let steering = cv.steering(alpha: fx.alpha)
        var worst = 0.0, differs = false
        for c in fx.chats {
            differs = differs || c.plain != c.steered
            var cache = m.makeCache(capacity: c.prompt_ids.count + c.steered.count + 2)
            var logits = try m.forward(c.prompt_ids, cache: &cache, steering: steering)
            for (step, want) in c.steered.enumerated() {
                if step < c.top10.count { for pair in c.top10[step] { worst = max(worst, abs(Double(logits[Int(pair[0])]) - pair[1])) } }
                var next = 0
                for i in logits.indices where logits[i] > logits[next] { next = i }
                #expect(Int32(next) == want, "\(c.question): step \(step)")
                if Int32(next) != want { break }
                logits = try m.forward([want], cache: &cache, steering: steering)
            }
        }
        #expect(differs, "the fixture's vector should change at least one greedy output")
        #expect(worst <= 1e-3, "worst top-10 logit difference \(worst)")
        print("steering parity with llama.cpp: worst top-10 logit difference \(worst)")
    }
}

@Suite struct ResidualCaptureTests {
    /// `residuals` returns the chosen blocks at the chosen positions, equal to what the capture
    /// hook sees; block 1's last-position residual of a prefix equals that of the prefix alone
    /// (causal), and a steered capture differs by exactly α·v at the steered block.
    @Test func capturesChosenBlocksAndPositions() throws {
        let m = try tinyModel()
        let tokens: [Int32] = [3, 17, 5, 39, 0]
        let r = try m.residuals(tokens, layers: [0, 1], positions: [-1, 0, 2])
        #expect(Set(r.keys) == [0, 1] && r[1]!.count == 3 && r[1]![0].count == 16)
        var all: [[Float]] = [[], []]
        var cache = m.makeCache()
        _ = try m.forward(tokens, cache: &cache) { l, x in all[l] = Array(x) }
        #expect(r[1]![0] == Array(all[1][(4 * 16)..<(5 * 16)]) && r[0]![2] == Array(all[0][(2 * 16)..<(3 * 16)]))
        let prefix = try m.residuals(Array(tokens.prefix(3)), layers: [1])
        #expect(close(prefix[1]![0], r[1]![2], 1e-5))
        let v = (0..<16).map { Float($0) / 16 }
        let steered = try m.residuals(tokens, layers: [1], steering: Steering(vectors: [1: v.map { $0 * 2 }]))
        #expect(steered[1]![0] == zip(r[1]![0], v).map { $0 + $1 * 2 })
        #expect(throws: GGUFError.self) { try m.residuals(tokens, layers: [1], positions: [5]) }
        #expect(throws: GGUFError.self) { try m.residuals(tokens, layers: [2]) }
    }
}
