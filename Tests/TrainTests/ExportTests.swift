import Foundation
import Model
import Testing
import TestSupport
@testable import Train

@Suite struct ExportTests {
    /// GGUF F32 export → the engine's loader → a trainable model: every parameter bit for bit.
    @Test(arguments: [true, false])
    func ggufRoundTripsBitExactly(tied: Bool) throws {
        let dir = try TempDir()
        let m = try GradientTests.tinyModel(tied: tied)
        try m.exportGGUF(to: dir.path + "/m.gguf", metadataFrom: nil, name: "tiny")
        let f = try GGUFFile(path: dir.path + "/m.gguf")
        #expect(f["general.name"]?.stringValue == "tiny")
        let back = try TrainableLlama(LlamaModel(f, precision: .f32))
        #expect(back.layout == m.layout)
        #expect(Array(back.parameters) == Array(m.parameters))
    }

    /// F16 export: matrices rounded to f16, norms kept in f32; the engine runs it.
    @Test func ggufF16() throws {
        let dir = try TempDir()
        let m = try GradientTests.tinyModel(tied: true)
        try m.exportGGUF(to: dir.path + "/m.gguf", f16: true, metadataFrom: nil)
        let back = try TrainableLlama(LlamaModel(try GGUFFile(path: dir.path + "/m.gguf"), precision: .f32))
        for t in m.layout.tensors {
            for i in t.range {
                let expected = t.shape.count == 2 ? Float(Float16(m.parameters[i])) : m.parameters[i]
                #expect(back.parameters[i] == expected, "\(t.name)")
            }
        }
    }

    /// Hugging Face export → our reader: bit for bit, and config.json names a LlamaForCausalLM.
    @Test func huggingFaceRoundTripsBitExactly() throws {
        let dir = try TempDir()
        let m = try GradientTests.tinyModel(tied: false)
        try m.exportHuggingFace(to: dir.path + "/hf", bos: 1, eos: 2)
        let back = try TrainableLlama.importHuggingFace(from: dir.path + "/hf")
        #expect(Array(back.parameters) == Array(m.parameters))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path + "/hf/config.json"))) as! [String: Any]
        #expect(config["architectures"] as? [String] == ["LlamaForCausalLM"])
        #expect(config["tie_word_embeddings"] as? Bool == false)
        let (tensors, _) = try SafeTensors.read(dir.path + "/hf/model.safetensors")
        #expect(tensors["model.layers.1.self_attn.q_proj.weight"]?.shape == [16, 16])
        #expect(tensors["lm_head.weight"]?.shape == [11, 16])
    }

    /// The Q/K permutation is the right one: the exported (Hugging Face) weights with RoPE on
    /// the two halves of each head compute what the GGUF weights do with adjacent pairs.
    @Test func huggingFaceLayoutRotatesHalves() throws {
        let dir = try TempDir()
        let m = try GradientTests.tinyModel(tied: true)
        try m.exportHuggingFace(to: dir.path)
        let (tensors, _) = try SafeTensors.read(dir.path + "/model.safetensors")
        let gguf = try m.engineModel()
        var c = m.config
        c.architecture = .qwen2   // the engine's halves-style RoPE, no bias tensors given
        let blocks = gguf.blocks.enumerated().map { (l, b) -> LlamaBlockWeights in
            var b = b
            b.wq = .f32(tensors["model.layers.\(l).self_attn.q_proj.weight"]!.values)
            b.wk = .f32(tensors["model.layers.\(l).self_attn.k_proj.weight"]!.values)
            return b
        }
        let hf = try LlamaModel(config: c, tokenEmbedding: gguf.tokenEmbedding, blocks: blocks, outputNorm: gguf.outputNorm, output: nil)
        var c1 = gguf.makeCache(capacity: 8), c2 = hf.makeCache(capacity: 8)
        let a = try gguf.forward([1, 5, 3, 7, 2], cache: &c1, allLogits: true)
        let b = try hf.forward([1, 5, 3, 7, 2], cache: &c2, allLogits: true)
        let worst = zip(a, b).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "largest logit difference \(worst)")
    }

    @Test func safetensorsErrorsNameTheFile() throws {
        let dir = try TempDir()
        let bad = try dir.write("bad.safetensors", [200, 0, 0, 0, 0, 0, 0, 0, 0x7B])
        #expect { try SafeTensors.read(bad) } throws: { "\($0)".contains("bad.safetensors") && "\($0)".contains("header length") }
    }
}
