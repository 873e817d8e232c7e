#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line handed to the caller of `LineReader.forEachLine`. `bytes` is valid only during the
/// call and excludes the newline.
public struct LineView {
    public var bytes: UnsafeRawBufferPointer
    /// 1-based line number.
    public var number: Int
    /// Byte offset of the line's first byte in the (decompressed) stream.
    public var offset: Int64
    /// The line's full length when it was over the limit; `bytes` then holds only its start.
    public var overLimitLength: Int?
}

/// Splits a byte stream into lines in bounded memory: the buffer holds one chunk plus the
/// longest line up to `maxLineBytes`; a longer line is passed on as its first
/// min(`keptPrefixBytes`, `maxLineBytes`) bytes and its length, never buffered whole. A UTF-8 byte-order mark at the
/// start of the stream is dropped. Cost: memchr over each chunk (several GB/s).
public final class LineReader {
    public let source: ByteSource
    public let maxLineBytes: Int
    public let chunkSize: Int
    /// How much of an over-limit line is kept for the reject record.
    public static let keptPrefixBytes = 64 * 1024

    public init(_ source: ByteSource, maxLineBytes: Int = 64 << 20, chunkSize: Int = 1 << 20) {
        self.source = source
        self.maxLineBytes = max(1, maxLineBytes)
        self.chunkSize = max(16, chunkSize)
    }

    /// Calls `body` for every line, in order. A final line without a newline is still a line.
    public func forEachLine(_ body: (LineView) throws -> Void) throws {
        var cap = chunkSize * 2
        var buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 16)
        defer { buf.deallocate() }
        var start = 0, filled = 0, scanFrom = 0
        var lineNo = 0
        var offset: Int64 = 0
        var atStreamStart = true
        // Over-limit state: the kept prefix and how many bytes of the line were seen.
        var skipping = false
        var prefix: [UInt8] = []
        var skippedLength = 0

        let keep = min(LineReader.keptPrefixBytes, maxLineBytes)
        func emit(_ from: Int, _ to: Int) throws {
            if to - from > maxLineBytes {
                // The whole line arrived in the buffer at once; report it as over the limit all the same.
                prefix = Array(UnsafeRawBufferPointer(start: buf + from, count: keep))
                skippedLength = to - from
                return try emitSkipped()
            }
            lineNo += 1
            var s = from
            if atStreamStart {
                atStreamStart = false
                if to - s >= 3 && buf.load(fromByteOffset: s, as: UInt8.self) == 0xEF
                    && buf.load(fromByteOffset: s + 1, as: UInt8.self) == 0xBB
                    && buf.load(fromByteOffset: s + 2, as: UInt8.self) == 0xBF { s += 3 }
            }
            try body(LineView(bytes: UnsafeRawBufferPointer(start: buf + s, count: to - s), number: lineNo, offset: offset, overLimitLength: nil))
            offset += Int64(to - from + 1)
        }

        func emitSkipped() throws {
            lineNo += 1
            atStreamStart = false
            try prefix.withUnsafeBytes {
                try body(LineView(bytes: $0, number: lineNo, offset: offset, overLimitLength: skippedLength))
            }
            offset += Int64(skippedLength + 1)
            skipping = false
            prefix = []
            skippedLength = 0
        }

        var eof = false
        while true {
            // Hand out every complete line in the buffer.
            while scanFrom < filled {
                let p = memchr(buf + scanFrom, 0x0A, filled - scanFrom)
                guard let nl = p else { scanFrom = filled; break }
                let i = UnsafeMutableRawPointer(nl) - buf
                if skipping {
                    skippedLength += i - start
                    try emitSkipped()
                } else {
                    try emit(start, i)
                }
                start = i + 1
                scanFrom = start
            }
            if eof {
                if skipping { try emitSkipped() } else if filled > start { try emit(start, filled) }
                return
            }
            // The unfinished line is [start, filled).
            if skipping {
                skippedLength += filled - start
                start = filled
            } else if filled - start > maxLineBytes {
                skipping = true
                prefix = Array(UnsafeRawBufferPointer(start: buf + start, count: keep))
                skippedLength = filled - start
                start = filled
            }
            // Make room: move the unfinished line to the front, grow if it fills the buffer.
            if start > 0 {
                let rest = filled - start
                if rest > 0 { memmove(buf, buf + start, rest) }
                filled = rest; scanFrom = rest; start = 0
            }
            if cap - filled < chunkSize {
                let newCap = max(cap * 2, filled + chunkSize)
                let nb = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 16)
                nb.copyMemory(from: buf, byteCount: filled)
                buf.deallocate()
                buf = nb
                cap = newCap
            }
            let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buf + filled, count: cap - filled))
            if n == 0 { eof = true } else { filled += n }
        }
    }
}
