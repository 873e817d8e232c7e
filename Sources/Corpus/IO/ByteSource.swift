import CZstd
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Something bytes are read from in chunks: a file, standard input, a zstd stream over either.
public protocol ByteSource: AnyObject {
    /// The name used in errors and rejects ("-" for standard input).
    var name: String { get }
    /// Reads up to `buffer.count` bytes; returns 0 at the end. Throws `FileError`.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Opens a file ("-" = standard input) for reading; zstd input is recognized by its magic
/// number, whatever the name, and decompressed as it is read (one or more frames).
public func openInput(_ path: String) throws -> ByteSource {
    let file = try FileSource(path: path)
    var head = [UInt8](repeating: 0, count: 4)
    var got = 0
    while got < 4 {
        let n = try head.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
        if n == 0 { break }
        got += n
    }
    file.unread(Array(head[0..<got]))
    if got == 4 && head == Zstd.magic { return try ZstdSource(file) }
    return file
}

/// A file descriptor read with read(2). Standard input is never closed by it.
public final class FileSource: ByteSource {
    public let name: String
    private let fd: Int32
    private let owns: Bool
    private var pending: [UInt8] = []

    /// Opens `path` for reading; "-" reads standard input.
    public init(path: String) throws {
        name = path
        if path == "-" {
            fd = 0; owns = false
        } else {
            let f = open(path, O_RDONLY | O_CLOEXEC)
            guard f >= 0 else {
                throw FileError.errno(path, "cannot open for reading", hint: Glibc.errno == ENOENT ? "check the path" : nil)
            }
            var st = stat()
            if fstat(f, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                close(f)
                throw FileError(path: path, message: "is a directory", hint: "pass .jsonl or .jsonl.zst files")
            }
            fd = f; owns = true
        }
    }

    deinit { if owns { close(fd) } }

    /// Puts bytes back to be read first (used to sniff the zstd magic).
    func unread(_ bytes: [UInt8]) { pending = bytes + pending }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !pending.isEmpty {
            let n = min(pending.count, buffer.count)
            pending.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
            pending.removeFirst(n)
            return n
        }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if Glibc.errno == EINTR { continue }
            throw FileError.errno(name, "read failed")
        }
    }
}

/// Decompresses a zstd stream (one or more frames) from another source.
public final class ZstdSource: ByteSource {
    public var name: String { inner.name }
    private let inner: ByteSource
    private let dctx: OpaquePointer
    private var input = [UInt8](repeating: 0, count: 1 << 17)
    private var inPos = 0
    private var inLen = 0
    private var innerDone = false
    private var frameOpen = false
    private var consumed: Int64 = 0

    public init(_ inner: ByteSource) throws {
        guard let d = ZSTD_createDCtx() else { throw ZstdError(message: "out of memory creating a context") }
        self.inner = inner
        dctx = d
    }

    deinit { ZSTD_freeDCtx(dctx) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if inPos == inLen && !innerDone {
                inLen = try input.withUnsafeMutableBytes { try inner.read(into: $0) }
                inPos = 0
                if inLen == 0 { innerDone = true }
            }
            if inPos == inLen && innerDone {
                if frameOpen {
                    throw FileError(path: name, message: "zstd stream ends inside a frame (truncated file)",
                                    offset: consumed, hint: "the file is incomplete; regenerate or re-download it")
                }
                return 0
            }
            var produced = 0
            try input.withUnsafeBytes { src in
                var inBuf = ZSTD_inBuffer(src: src.baseAddress, size: inLen, pos: inPos)
                var outBuf = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                let r = ZSTD_decompressStream(dctx, &outBuf, &inBuf)
                if ZSTD_isError(r) != 0 {
                    throw FileError(path: name, message: "zstd data is corrupt: \(String(cString: ZSTD_getErrorName(r)))",
                                    offset: consumed + Int64(inPos), hint: "the file is damaged; regenerate it")
                }
                consumed += Int64(inBuf.pos - inPos)
                inPos = inBuf.pos
                frameOpen = r != 0
                produced = outBuf.pos
            }
            if produced > 0 { return produced }
        }
    }
}
