#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Sendable {
    public var name: String
    /// Dimensions in ggml order: `dims[0]` is the row length (contiguous), `dims[1]` the rows.
    public var dims: [Int]
    /// The element type as stored; `type` is nil when ggml defines no such type.
    public var rawType: UInt32
    public var type: GGMLType? { GGMLType(rawValue: rawType) }
    /// Absolute byte offset of the data in the file.
    public var offset: Int
    public var byteCount: Int
    public var elementCount: Int { dims.reduce(1, *) }
    public var typeName: String { type?.name ?? "type \(rawType)" }
}

/// A GGUF file (versions 2 and 3), memory-mapped. Reading the header touches only the header
/// pages; tensor data is paged in on use. Every count, length and range read from the file is
/// checked against the file size with overflow-safe arithmetic before it is used, so a
/// corrupt file gets a `GGUFError` naming the byte offset, never a crash or a huge allocation.
/// Spec: ggml's docs/gguf.md.
public final class GGUFFile: @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    public static let maxTensors: UInt64 = 1 << 20
    public static let maxMetadata: UInt64 = 1 << 20
    public static let maxDims = 4

    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Where the tensor data section starts.
    public let dataOffset: Int
    public let fileSize: Int
    private let keyIndex: [String: Int]
    private let tensorIndex: [String: Int]
    private let mapping: UnsafeMutableRawPointer?

    /// Opens and parses `path`. Throws `GGUFError`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw GGUFError(path: path, message: "cannot open: \(String(cString: strerror(errno)))",
                            hint: errno == ENOENT ? "check the path, or run `cotforge model fetch smollm2`" : nil)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError(path: path, message: "cannot stat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw GGUFError(path: path, message: "is not a regular file") }
        let size = Int(st.st_size)
        fileSize = size
        guard size >= 24 else {
            throw GGUFError(path: path, offset: 0, message: "file is \(size) bytes, too short for a GGUF header", hint: "the file is truncated or not GGUF")
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw GGUFError(path: path, message: "cannot map the file: \(String(cString: strerror(errno)))")
        }
        mapping = m
        do {
            let parsed = try GGUFFile.parse(UnsafeRawBufferPointer(start: m, count: size), path: path)
            version = parsed.version
            metadata = parsed.metadata
            tensors = parsed.tensors
            alignment = parsed.alignment
            dataOffset = parsed.dataOffset
        } catch {
            munmap(m, size)
            throw error
        }
        var ki: [String: Int] = [:]
        for (i, kv) in metadata.enumerated() { ki[kv.key] = i }
        keyIndex = ki
        var ti: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { ti[t.name] = i }
        tensorIndex = ti
    }

    deinit { if let m = mapping { munmap(m, fileSize) } }

    public subscript(key: String) -> GGUFValue? { keyIndex[key].map { metadata[$0].value } }

    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The bytes of a tensor (valid while this file is alive).
    public func data(_ t: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mapping.map { UnsafeRawPointer($0) + t.offset }, count: t.byteCount)
    }

    /// Tells the kernel it may drop the pages holding a tensor's data (read again from the file
    /// if touched later): after a tensor has been copied out, its mapped pages need not stay
    /// resident next to the copy.
    public func release(_ t: GGUFTensorInfo) {
        guard let m = mapping else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (t.offset + page - 1) / page * page, hi = (t.offset + t.byteCount) / page * page
        if hi > lo { madvise(m + lo, hi - lo, MADV_DONTNEED) }
    }

    /// `general.architecture`, e.g. "llama".
    public var architecture: String? { self["general.architecture"]?.stringValue }

    struct Parsed {
        var version: UInt32
        var metadata: [(key: String, value: GGUFValue)]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    static func parse(_ buf: UnsafeRawBufferPointer, path: String) throws -> Parsed {
        var c = BinaryCursor(buf, path: path)
        let magic = try c.read(UInt32.self, "magic")
        guard magic == GGUFFile.magic else {
            throw c.error("bad magic 0x\(String(magic, radix: 16)) (expected \"GGUF\")", at: 0, hint: "this is not a GGUF file")
        }
        let version = try c.read(UInt32.self, "version")
        if version == 1 { throw c.error("GGUF version 1 is not supported (2 and 3 are)", at: 4, hint: "convert the model again with a current llama.cpp") }
        if version.byteSwapped == 2 || version.byteSwapped == 3 {
            throw c.error("big-endian GGUF is not supported", at: 4, hint: "use the little-endian file")
        }
        guard version == 2 || version == 3 else { throw c.error("unknown GGUF version \(version) (supported: 2, 3)", at: 4) }
        let tensorCount = try c.count("tensor count", limit: maxTensors)
        let kvCount = try c.count("metadata count", limit: maxMetadata)

        var metadata: [(key: String, value: GGUFValue)] = []
        metadata.reserveCapacity(kvCount)
        var keys = Set<String>()
        for _ in 0..<kvCount {
            let at = c.pos
            let key = try c.string("metadata key")
            guard keys.insert(key).inserted else { throw c.error("metadata key \(key) appears twice", at: at, hint: "the file is corrupt") }
            let rawType = try c.read(UInt32.self, "type of \(key)")
            metadata.append((key, try readValue(&c, rawType: rawType, key: key, depth: 0)))
        }
        var alignment = 32
        if let a = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard case .uint32(let v) = a, v > 0, v & (v - 1) == 0 else {
                throw c.error("general.alignment must be a power of two stored as uint32", hint: "the file is corrupt")
            }
            alignment = Int(v)
        }

        var infos: [(name: String, dims: [Int], type: UInt32, offset: UInt64, at: Int)] = []
        infos.reserveCapacity(tensorCount)
        var names = Set<String>()
        for _ in 0..<tensorCount {
            let at = c.pos
            let name = try c.string("tensor name")
            guard names.insert(name).inserted else { throw c.error("tensor \(name) appears twice", at: at, hint: "the file is corrupt") }
            let nd = try c.read(UInt32.self, "dimension count of \(name)")
            guard nd >= 1, nd <= maxDims else { throw c.error("tensor \(name) has \(nd) dimensions (1…\(maxDims) allowed)", hint: "the file is corrupt") }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<nd {
                let d = try c.read(UInt64.self, "dimensions of \(name)")
                guard d >= 1, d <= UInt64(Int.max) else { throw c.error("tensor \(name) has dimension \(d)", hint: "the file is corrupt") }
                let (p, o) = elements.multipliedReportingOverflow(by: Int(d))
                guard !o else { throw c.error("tensor \(name): dimensions overflow", hint: "the file is corrupt") }
                elements = p
                dims.append(Int(d))
            }
            let type = try c.read(UInt32.self, "type of \(name)")
            let offset = try c.read(UInt64.self, "offset of \(name)")
            infos.append((name, dims, type, offset, at))
        }
        // The data section starts at the next multiple of the alignment.
        let (padded, o) = c.pos.addingReportingOverflow(alignment - 1)
        guard !o else { throw c.error("header size overflows") }
        let dataOffset = padded / alignment * alignment
        guard dataOffset <= buf.count else { throw c.error("file ends before the tensor data", hint: "the file is truncated") }

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(infos.count)
        for t in infos {
            let elements = t.dims.reduce(1, *)
            let byteCount: Int
            if let type = GGMLType(rawValue: t.type) {
                guard t.dims[0] % type.blockSize == 0, let n = type.byteCount(elements: elements) else {
                    throw c.error("tensor \(t.name): row length \(t.dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)", at: t.at)
                }
                byteCount = n
            } else {
                byteCount = 0  // unknown type: size unknown; refused when the tensor is used
            }
            guard t.offset % UInt64(alignment) == 0 else {
                throw c.error("tensor \(t.name): data offset \(t.offset) is not aligned to \(alignment)", at: t.at, hint: "the file is corrupt")
            }
            guard t.offset <= UInt64(buf.count), case let (start, o1) = dataOffset.addingReportingOverflow(Int(t.offset)), !o1,
                  case let (end, o2) = start.addingReportingOverflow(byteCount), !o2, end <= buf.count else {
                throw c.error("tensor \(t.name) (\(byteCount) bytes at data offset \(t.offset)) extends past the end of the file (\(buf.count) bytes)",
                              at: t.at, hint: "the file is truncated")
            }
            tensors.append(GGUFTensorInfo(name: t.name, dims: t.dims, rawType: t.type, offset: start, byteCount: byteCount))
        }
        return Parsed(version: version, metadata: metadata, tensors: tensors, alignment: alignment, dataOffset: dataOffset)
    }

    static func readValue(_ c: inout BinaryCursor, rawType: UInt32, key: String, depth: Int) throws -> GGUFValue {
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw c.error("metadata \(key) has unknown value type \(rawType)", hint: "the file is corrupt or from a newer GGUF version")
        }
        switch type {
        case .uint8: return .uint8(try c.read(UInt8.self, key))
        case .int8: return .int8(try c.read(Int8.self, key))
        case .uint16: return .uint16(try c.read(UInt16.self, key))
        case .int16: return .int16(try c.read(Int16.self, key))
        case .uint32: return .uint32(try c.read(UInt32.self, key))
        case .int32: return .int32(try c.read(Int32.self, key))
        case .uint64: return .uint64(try c.read(UInt64.self, key))
        case .int64: return .int64(try c.read(Int64.self, key))
        case .float32: return .float32(try c.float32(key))
        case .float64: return .float64(try c.float64(key))
        case .bool:
            let b = try c.read(UInt8.self, key)
            guard b <= 1 else { throw c.error("metadata \(key): bool byte is \(b)", hint: "the file is corrupt") }
            return .bool(b == 1)
        case .string: return .string(try c.string(key))
        case .array:
            guard depth < 4 else { throw c.error("metadata \(key): arrays nested too deeply") }
            let et = try c.read(UInt32.self, "element type of \(key)")
            guard let elementType = GGUFValueType(rawValue: et) else { throw c.error("metadata \(key): unknown element type \(et)") }
            // Every element takes at least one byte (strings at least 8): bound the count by what is left.
            let minSize = [.string, .array].contains(elementType) ? 8 : 1
            let n = try c.count("element count of \(key)", limit: UInt64((c.count - c.pos) / minSize))
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try readValue(&c, rawType: et, key: key, depth: depth + 1)) }
            return .array(elementType: elementType, items)
        }
    }
}
