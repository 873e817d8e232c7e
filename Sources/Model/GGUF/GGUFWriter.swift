import Foundation

/// Builds GGUF v3 files: metadata in the order added, tensors aligned to `alignment` in the
/// data section. Used for control vectors, exported checkpoints and test fixtures.
public struct GGUFWriter {
    public var metadata: [(key: String, value: GGUFValue)] = []
    public var tensors: [(name: String, dims: [Int], type: GGMLType, data: [UInt8])] = []
    public var alignment = 32

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.key == key }) { metadata[i].value = value } else { metadata.append((key, value)) }
    }

    /// Adds an F32 tensor with ggml dimensions (`dims[0]` contiguous).
    public mutating func addTensor(_ name: String, dims: [Int], floats: [Float]) {
        let data = floats.withUnsafeBytes { Array($0) }
        tensors.append((name, dims, .f32, data))
    }

    /// Adds a tensor of any type from its raw bytes.
    public mutating func addTensor(_ name: String, dims: [Int], type: GGMLType, raw: [UInt8]) {
        tensors.append((name, dims, type, raw))
    }

    /// The file's bytes.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func value(_ v: GGUFValue, withType: Bool) {
            if withType { u32(v.type.rawValue) }
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .float64(let x): u64(x.bitPattern)
            case .bool(let b): out.append(b ? 1 : 0)
            case .string(let s): str(s)
            case .array(let t, let items):
                u32(t.rawValue)
                u64(UInt64(items.count))
                for i in items { value(i, withType: false) }
            }
        }
        func pad() { while out.count % alignment != 0 { out.append(0) } }

        u32(GGUFFile.magic)
        u32(3)
        u64(UInt64(tensors.count))
        var meta = metadata
        if alignment != 32, !meta.contains(where: { $0.key == "general.alignment" }) {
            meta.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        u64(UInt64(meta.count))
        for (k, v) in meta { str(k); value(v, withType: true) }
        var offset = 0
        for t in tensors {
            str(t.name)
            u32(UInt32(t.dims.count))
            for d in t.dims { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        pad()
        for t in tensors {
            out.append(contentsOf: t.data)
            pad()
        }
        return out
    }

    /// Writes the file through a temporary name, renamed into place when complete.
    public func write(to path: String) throws {
        do { try Data(bytes()).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw GGUFError(path: path, message: "cannot write: \(error.localizedDescription)")
        }
    }
}
