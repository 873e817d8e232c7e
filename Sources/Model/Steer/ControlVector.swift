import Foundation

/// What a forward pass adds to the residual stream: a vector per block, added to that block's
/// output (llama.cpp's `l_out-N`) at every position, during prefill and decoding alike.
public struct Steering: Sendable, Equatable {
    /// Block index → the vector to add ([width]), already scaled.
    public var vectors: [Int: [Float]]

    public init(vectors: [Int: [Float]] = [:]) { self.vectors = vectors }

    public var isEmpty: Bool { vectors.isEmpty }
}

/// A steering direction per block in llama.cpp's control-vector GGUF: `general.architecture`
/// = `controlvector`, `controlvector.model_hint` (the model architecture), `controlvector.layer_count`,
/// and one F32 tensor `direction.N` ([width]) per steered block N (N ≥ 1; llama.cpp never steers
/// block 0), added to the output of block N. `llama-server --control-vector-scaled FILE α`
/// applies one the same way; files from llama.cpp's `cvector-generator` and from repeng load here.
public struct ControlVector: Sendable {
    public var modelHint: String
    public var width: Int
    /// Block index → direction.
    public var directions: [Int: [Float]]
    /// Metadata as read (order and types kept, so a file read and written back is byte-identical).
    var metadata: [(key: String, value: GGUFValue)]
    /// Tensor order as read.
    var order: [Int]
    var alignment = 32

    public init(modelHint: String, directions: [Int: [Float]]) throws {
        guard let w = directions.values.first?.count, w > 0 else {
            throw GGUFError(path: "", message: "a control vector needs at least one non-empty direction")
        }
        for (n, v) in directions {
            guard n >= 1 else { throw GGUFError(path: "", message: "direction.\(n): llama.cpp steers blocks 1 and up, not block \(n)") }
            guard v.count == w else { throw GGUFError(path: "", message: "direction.\(n) has \(v.count) values, the others \(w)") }
        }
        self.modelHint = modelHint
        self.width = w
        self.directions = directions
        order = directions.keys.sorted()
        metadata = [("general.architecture", .string("controlvector")), ("controlvector.model_hint", .string(modelHint)),
                    ("controlvector.layer_count", .int32(Int32(directions.count)))]
    }

    /// Reads a control-vector GGUF; errors name the file and what is wrong with it.
    public init(path: String) throws {
        let f = try GGUFFile(path: path)
        guard f.architecture == "controlvector" else {
            throw GGUFError(path: path, message: "general.architecture is \(f.architecture.map { "\"\($0)\"" } ?? "missing"), not \"controlvector\"",
                            hint: "pass a control vector (from cotforge steer extract, llama.cpp's cvector-generator or repeng), not a model")
        }
        var dirs: [Int: [Float]] = [:], order: [Int] = []
        var width = 0
        for t in f.tensors {
            guard t.name.hasPrefix("direction."), let n = Int(t.name.dropFirst("direction.".count)) else {
                throw GGUFError(path: path, message: "tensor \(t.name) is not named direction.N")
            }
            guard n >= 1 else { throw GGUFError(path: path, message: "tensor \(t.name): block index must be 1 or more (llama.cpp rejects 0)") }
            guard t.type == .f32, t.dims.count == 1 else {
                throw GGUFError(path: path, message: "tensor \(t.name) is \(t.typeName) with shape \(t.dims); control vectors hold 1-D F32 tensors")
            }
            guard dirs[n] == nil else { throw GGUFError(path: path, message: "tensor \(t.name) appears twice") }
            if width == 0 { width = t.dims[0] }
            guard t.dims[0] == width else { throw GGUFError(path: path, message: "tensor \(t.name) has \(t.dims[0]) values, the others \(width)") }
            let raw = f.data(t)
            dirs[n] = (0..<width).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
            order.append(n)
        }
        guard !dirs.isEmpty else { throw GGUFError(path: path, message: "holds no direction.N tensor") }
        modelHint = f["controlvector.model_hint"]?.stringValue ?? ""
        self.width = width
        directions = dirs
        self.order = order
        metadata = f.metadata
        alignment = f.alignment
    }

    /// The file: the metadata as read (or as made), tensors in their order, F32.
    public func bytes() -> [UInt8] {
        var w = GGUFWriter()
        w.alignment = alignment
        for (k, v) in metadata { w.set(k, v) }
        if !metadata.contains(where: { $0.key == "controlvector.layer_count" }) { w.set("controlvector.layer_count", .int32(Int32(directions.count))) }
        for n in order + directions.keys.filter({ !order.contains($0) }).sorted() {
            w.addTensor("direction.\(n)", dims: [width], floats: directions[n]!)
        }
        return w.bytes()
    }

    public func write(to path: String) throws {
        do { try Data(bytes()).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw GGUFError(path: path, message: "cannot write: \(error.localizedDescription)")
        }
    }

    /// α·direction for the blocks in `layers` (all when nil) that the vector has.
    public func steering(alpha: Float, layers: ClosedRange<Int>? = nil) -> Steering {
        var s = Steering()
        for (n, v) in directions where layers?.contains(n) ?? true { s.vectors[n] = v.map { $0 * alpha } }
        return s
    }

    /// Throws when the vector does not fit `config` (width, block indices).
    public func check(against config: LlamaConfig, path: String = "") throws {
        guard width == config.width else {
            throw GGUFError(path: path, message: "directions have \(width) values but the model's residual stream has \(config.width)",
                            hint: "use a control vector made for this model (model hint: \(modelHint.isEmpty ? "none" : modelHint))")
        }
        if let n = directions.keys.max(), n >= config.layers {
            throw GGUFError(path: path, message: "direction.\(n) is past the model's last block (\(config.layers - 1))",
                            hint: "use a control vector made for this model")
        }
    }
}

extension LlamaModel {
    /// The residual stream after each block in `layers` (llama.cpp's `l_out-N`), at the
    /// positions `positions` of `tokens` (negative counts from the end: -1 is the last token),
    /// from one pass over a fresh cache: `[block: [position: [width]]]`, positions in the order
    /// given. What direction extraction needs: the last prompt token under two instructions.
    public func residuals(_ tokens: [Int32], layers: Set<Int>, positions: [Int] = [-1], steering: Steering? = nil) throws -> [Int: [[Float]]] {
        let T = tokens.count, C = config.width
        let rows = try positions.map { p -> Int in
            let r = p < 0 ? T + p : p
            guard r >= 0 && r < T else {
                throw GGUFError(path: "", message: "position \(p) is outside the \(T) tokens", hint: "use 0…\(T - 1), or -1 for the last")
            }
            return r
        }
        if let bad = layers.first(where: { $0 < 0 || $0 >= config.layers }) {
            throw GGUFError(path: "", message: "block \(bad) is outside the model's \(config.layers) blocks")
        }
        var out: [Int: [[Float]]] = [:]
        var cache = makeCache(capacity: T)
        _ = try forward(tokens, cache: &cache, steering: steering) { l, x in
            guard layers.contains(l) else { return }
            out[l] = rows.map { Array(x[($0 * C)..<(($0 + 1) * C)]) }
        }
        return out
    }
}
