import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the
/// tensors' bytes, row-major and little-endian, in header order.
public enum SafeTensors {
    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) { self.name = name; self.shape = shape; self.values = values }
    }

    /// Writes F32 (or, with `f16`, F16) tensors in the order given; atomically (temporary name).
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], f16: Bool = false, to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let size = f16 ? 2 : 4
        for t in tensors {
            precondition(t.shape.reduce(1, *) == t.values.count, "\(t.name): shape \(t.shape) for \(t.values.count) values")
            header[t.name] = ["dtype": f16 ? "F16" : "F32", "shape": t.shape, "data_offsets": [offset, offset + t.values.count * size]]
            offset += t.values.count * size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-aligned, as the reference writer does.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors {
            if f16 {
                let halves = t.values.map { Float16($0).bitPattern.littleEndian }
                halves.withUnsafeBytes { out.append(contentsOf: $0) }
            } else {
                t.values.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        let tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: out) else {
            throw TrainError("\(path): cannot write", hint: "check that the folder exists and is writable")
        }
        guard rename(tmp, path) == 0 else { throw TrainError("\(path): cannot rename \(tmp) into place: \(String(cString: strerror(errno)))") }
    }

    /// Reads every tensor (F32, F16 or BF16) as Float, with the metadata; throws naming the
    /// file and what is wrong.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw TrainError("\(path): cannot read") }
        guard data.count >= 8 else { throw TrainError("\(path): \(data.count) bytes, too short for a safetensors file") }
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard n > 0, 8 + n <= data.count else {
            throw TrainError("\(path): header length \(n) does not fit the file (\(data.count) bytes)", hint: "is this a safetensors file?")
        }
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] else {
            throw TrainError("\(path): the header (bytes 8…\(8 + n)) is not a JSON object")
        }
        let body = 8 + n
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" { metadata = value as? [String: String] ?? [:]; continue }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String, let shape = info["shape"] as? [Int],
                  let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw TrainError("\(path): tensor \(name) lacks dtype, shape or data_offsets")
            }
            let count = shape.reduce(1, *)
            let size: Int
            switch dtype {
            case "F32": size = 4
            case "F16", "BF16": size = 2
            default: throw TrainError("\(path): tensor \(name) has dtype \(dtype)", hint: "F32, F16 and BF16 are read")
            }
            guard offsets[1] - offsets[0] == count * size, body + offsets[1] <= data.count, offsets[0] >= 0 else {
                throw TrainError("\(path): tensor \(name) at bytes \(offsets) does not match its shape \(shape) or the file size")
            }
            var values = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { raw in
                let base = raw.baseAddress! + body + offsets[0]
                for i in 0..<count {
                    switch dtype {
                    case "F32": values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    case "F16": values[i] = Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                    default: values[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                    }
                }
            }
            tensors[name] = Tensor(name: name, shape: shape, values: values)
        }
        return (tensors, metadata)
    }
}
