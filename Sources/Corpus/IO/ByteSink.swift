#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Something bytes are written to.
public protocol ByteSink: AnyObject {
    var name: String { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes and completes the output (renames a temporary file into place).
    func finish() throws
}

/// Writes a file through a temporary name (`NAME.tmp-PID`) renamed over `NAME` by `finish()`,
/// so that a crash never leaves a partial file under the final name. "-" writes standard output.
/// `durable` files are fsync'ed before the rename (manifests); files whose content is checked
/// by a checksum before it is trusted (shards) skip that and its wait for the disk.
public final class FileSink: ByteSink {
    public let name: String
    private let tempPath: String?
    private let durable: Bool
    private var fd: Int32
    private var finished = false

    public init(path: String, durable: Bool = true) throws {
        name = path
        self.durable = durable
        if path == "-" {
            fd = 1; tempPath = nil
        } else {
            let t = "\(path).tmp-\(getpid())"
            let f = open(t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard f >= 0 else { throw FileError.errno(path, "cannot create", hint: "check that the folder exists and is writable") }
            fd = f; tempPath = t
        }
    }

    deinit {
        // Not finished (an error or an interruption): leave nothing that looks whole.
        if !finished, let t = tempPath { close(fd); unlink(t) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            // Pieces of at most 1 MiB: one huge write(2) costs the kernel more per byte here.
            let n = Glibc.write(fd, bytes.baseAddress! + done, min(bytes.count - done, 1 << 20))
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw FileError.errno(name, "write failed", hint: Glibc.errno == ENOSPC ? "the disk is full" : nil)
            }
            done += n
        }
    }

    public func finish() throws {
        guard !finished else { return }
        finished = true
        guard let t = tempPath else { return }
        if durable && fsync(fd) != 0 && Glibc.errno != EINVAL { let e = Glibc.errno; close(fd); unlink(t); throw FileError.errno(name, "fsync failed", code: e) }
        close(fd)
        if rename(t, name) != 0 { let e = Glibc.errno; unlink(t); throw FileError.errno(name, "rename into place failed", code: e) }
    }
}

/// Compresses everything written into one zstd frame on another sink (streaming: the frame
/// carries no content size; shard files use `ZstdCompressor.compressFrame` instead).
public final class ZstdSink: ByteSink {
    public var name: String { inner.name }
    private let inner: ByteSink
    private let compressor: ZstdCompressor

    public init(_ inner: ByteSink, level: Int32 = 3) throws {
        self.inner = inner
        compressor = try ZstdCompressor(level: level)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try compressor.stream(bytes, end: false) { try inner.write($0) }
    }

    public func finish() throws {
        try compressor.stream(UnsafeRawBufferPointer(start: nil, count: 0), end: true) { try inner.write($0) }
        try inner.finish()
    }
}

/// Writes JSON Lines to a file or standard output; `.zst` names are zstd-compressed.
/// Buffers 1 MiB between writes.
public final class JSONLWriter {
    private let sink: ByteSink
    private var buffer: [UInt8] = []
    public private(set) var records = 0

    /// Opens `path` ("-" = standard output). A name ending in `.zst` is compressed at `level`.
    public init(path: String, level: Int32 = 3) throws {
        let file = try FileSink(path: path)
        sink = path.hasSuffix(".zst") ? try ZstdSink(file, level: level) : file
        buffer.reserveCapacity(1 << 20)
    }

    /// Appends one line (the newline is added).
    public func writeLine(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        records += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    public func write(_ example: Example) throws {
        try example.jsonBytes.withUnsafeBytes { try writeLine($0) }
    }

    public func write(_ value: JSONValue) throws {
        try JSONSerializer.bytes(value).withUnsafeBytes { try writeLine($0) }
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { try sink.write($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and completes the file.
    public func finish() throws {
        try flush()
        try sink.finish()
    }
}
