import Foundation
import Testing
@testable import Corpus
import TestSupport

/// A byte source over memory that hands out at most `step` bytes per read.
final class MemorySource: ByteSource {
    let name = "memory"
    let bytes: [UInt8]
    let step: Int
    var pos = 0
    init(_ bytes: [UInt8], step: Int) { self.bytes = bytes; self.step = step }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(step, buffer.count, bytes.count - pos)
        for i in 0..<n { buffer[i] = bytes[pos + i] }
        pos += n
        return n
    }
}

func collectLines(_ source: ByteSource, max: Int = 1 << 20, chunk: Int = 16) throws -> [(String, Int, Int64, Int?)] {
    var out: [(String, Int, Int64, Int?)] = []
    try LineReader(source, maxLineBytes: max, chunkSize: chunk).forEachLine {
        out.append((String(decoding: $0.bytes, as: UTF8.self), $0.number, $0.offset, $0.overLimitLength))
    }
    return out
}

@Suite struct LineReaderTests {
    /// Splits random text at every chunk size and read step and compares with a direct split.
    @Test func matchesDirectSplitOverChunkSizes() throws {
        var rng = SeededRandom(seed: 7)
        let lines = (0..<60).map { i in i % 7 == 0 ? "" : randomText(&rng, maxLength: 90).replacingOccurrences(of: "\n", with: " ") }
        let text = lines.joined(separator: "\n")
        let bytes = Array(text.utf8)
        for chunk in [16, 17, 31, 64, 100, 257, 500] {
            for step in [1, 3, 7, 64, 1000] {
                let got = try collectLines(MemorySource(bytes, step: step), chunk: chunk)
                #expect(got.map(\.0) == lines, "chunk \(chunk) step \(step)")
                #expect(got.map(\.1) == Array(1...lines.count))
                var offset: Int64 = 0
                for (i, l) in lines.enumerated() {
                    #expect(got[i].2 == offset)
                    offset += Int64(l.utf8.count + 1)
                }
            }
        }
    }

    @Test func finalLineWithoutNewlineAndBOM() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a\nb\r\nc".utf8)
        let got = try collectLines(MemorySource(bytes, step: 2))
        #expect(got.map(\.0) == ["a", "b\r", "c"])
        #expect(try collectLines(MemorySource([], step: 1)).isEmpty)
        #expect(try collectLines(MemorySource(Array("\n".utf8), step: 1)).map(\.0) == [""])
    }

    /// A line over the limit is reported with its length and start, in bounded memory, and the
    /// lines around it are unaffected.
    @Test func overLimitLinesAreReportedNotBuffered() throws {
        let long = String(repeating: "x", count: 200_000)
        let text = "short\n\(long)\nafter\n\(long)"
        for step in [5, 4096, 1 << 20] {
            let got = try collectLines(MemorySource(Array(text.utf8), step: step), max: 1000, chunk: 64)
            #expect(got.map(\.0.count) == [5, 1000, 5, 1000])
            #expect(got[1].0 == String(repeating: "x", count: 1000))
            #expect(got.map(\.3) == [nil, 200_000, nil, 200_000])
            #expect(got[2].2 == 6 + 200_001)
            #expect(got.map(\.1) == [1, 2, 3, 4])
        }
    }
}

@Suite struct ZstdTests {
    func compress(_ bytes: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        let c = try ZstdCompressor(level: level)
        return try bytes.withUnsafeBytes { try c.compressFrame($0) { Array($0) } }
    }

    @Test func oneFrameWithContentSize() throws {
        let text = Array(String(repeating: "hello zstd\n", count: 1000).utf8)
        let z = try compress(text)
        let info = try z.withUnsafeBytes { try Zstd.frameInfo($0) }
        #expect(info.contentSize == UInt64(text.count))
        #expect(info.compressedSize == z.count)
        #expect(try z.withUnsafeBytes { try zstdDecompress($0) } == text)
    }

    @Test func sourceReadsConcatenatedFramesAtAnyStep() throws {
        let a = Array("first\nframe\n".utf8), b = Array("second frame\n".utf8)
        let z = try compress(a) + compress(b)
        for step in [1, 2, 13, 4096] {
            let got = try collectLines(try ZstdSource(MemorySource(z, step: step)))
            #expect(got.map(\.0) == ["first", "frame", "second frame"])
        }
    }

    @Test func truncatedAndCorruptStreamsThrowFileError() throws {
        let z = try compress(Array(String(repeating: "data line\n", count: 5000).utf8), level: 1)
        let truncated = Array(z[0..<(z.count / 2)])
        #expect(throws: FileError.self) { _ = try collectLines(try ZstdSource(MemorySource(truncated, step: 100))) }
        var corrupt = z
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: (any Error).self) { _ = try collectLines(try ZstdSource(MemorySource(corrupt, step: 100))) }
    }

    @Test func streamingSinkWritesReadableFile() throws {
        let dir = try TempDir()
        let path = dir.path + "/x.jsonl.zst"
        let w = try JSONLWriter(path: path)
        for i in 0..<1000 { try w.write(.object(JSONObject([("i", .int(i))]))) }
        try w.finish()
        let lines = try collectLines(try openInput(path))
        #expect(lines.count == 1000)
        #expect(lines.last?.0 == #"{"i":999}"#)
    }
}

