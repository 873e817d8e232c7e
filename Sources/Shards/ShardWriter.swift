import Corpus
import Foundation

/// One finished shard as the manifest lists it. `path` is relative to the dataset folder.
public struct ShardInfo: Sendable, Equatable {
    public var path: String
    public var records: Int
    public var bytes: Int
    public var uncompressedBytes: Int
    public var sha256: String

    public var json: JSONValue {
        .object(JSONObject([
            ("path", .string(path)), ("records", .int(records)), ("bytes", .int(bytes)),
            ("uncompressed_bytes", .int(uncompressedBytes)), ("sha256", .string(sha256)),
        ]))
    }
}

/// Writes the JSON Lines of one split into numbered zstd shards of at most `shardSize`
/// uncompressed bytes (a single larger record gets a shard of its own). Each shard is one
/// zstd frame with its content size, written under a temporary name in the work folder, then
/// renamed, then recorded by a marker file. A rerun that produces the same shard content finds
/// the marker and reuses the file instead of compressing again; that is how an interrupted
/// build resumes. Memory: one shard's uncompressed bytes plus its compressed form.
final class ShardWriter {
    let split: String
    let workDir: String
    let shardSize: Int
    private let compressor: ZstdCompressor
    private(set) var buffer: [UInt8] = []
    private var bufferRecords = 0
    private(set) var shards: [ShardInfo] = []
    private(set) var reused = 0
    var records: Int { shards.reduce(0) { $0 + $1.records } + bufferRecords }

    init(split: String, workDir: String, shardSize: Int, level: Int32) throws {
        self.split = split
        self.workDir = workDir
        self.shardSize = max(1, shardSize)
        compressor = try ZstdCompressor(level: level)
    }

    /// Appends one record; `write` appends its JSON bytes (without newline) to the buffer.
    /// Returns true when a shard was completed.
    @discardableResult
    func add(_ write: (inout [UInt8]) -> Void) throws -> Bool {
        let shardsBefore = shards.count
        let before = buffer.count
        write(&buffer)
        buffer.append(0x0A)
        bufferRecords += 1
        if buffer.count > shardSize && bufferRecords > 1 {
            // The new record would overflow the shard: close the shard without it.
            try flush(upTo: before, records: bufferRecords - 1)
            buffer.removeSubrange(0..<before)
            bufferRecords = 1
        }
        if buffer.count >= shardSize {
            try flush(upTo: buffer.count, records: bufferRecords)
            buffer.removeAll(keepingCapacity: true)
            bufferRecords = 0
        }
        return shards.count != shardsBefore
    }

    /// Writes what is buffered as the last shard.
    func finish() throws {
        if bufferRecords > 0 {
            try flush(upTo: buffer.count, records: bufferRecords)
            buffer.removeAll()
            bufferRecords = 0
        }
    }

    /// Work-folder file name of shard `i`.
    static func workName(_ split: String, _ i: Int) -> String { "\(split)-\(String(format: "%05d", i))" }

    private func flush(upTo count: Int, records: Int) throws {
        let index = shards.count
        let base = "\(workDir)/\(ShardWriter.workName(split, index))"
        let content = buffer.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[0..<count]) }
        let contentSHA = SHA256.hex(of: content)
        if let info = reusable(base: base, records: records, uncompressed: count, contentSHA: contentSHA) {
            shards.append(info)
            reused += 1
            return
        }
        let (bytes, sha) = try compressor.compressFrame(content) { frame -> (Int, String) in
            let sink = try FileSink(path: base + ".jsonl.zst")
            try sink.write(frame)
            try sink.finish()
            return (frame.count, SHA256.hex(of: frame))
        }
        let marker = JSONObject([
            ("records", .int(records)), ("uncompressed_bytes", .int(count)),
            ("uncompressed_sha256", .string(contentSHA)), ("bytes", .int(bytes)), ("sha256", .string(sha)),
        ])
        let sink = try FileSink(path: base + ".done.json")
        try Array(JSONSerializer.pretty(.object(marker)).utf8).withUnsafeBytes { try sink.write($0) }
        try sink.finish()
        shards.append(ShardInfo(path: base + ".jsonl.zst", records: records, bytes: bytes, uncompressedBytes: count, sha256: sha))
    }

    /// A completed shard from an earlier run with exactly this content, checked by hash.
    private func reusable(base: String, records: Int, uncompressed: Int, contentSHA: String) -> ShardInfo? {
        guard let markerData = FileManager.default.contents(atPath: base + ".done.json"),
              case .object(let m)? = try? JSONScanner.parse(markerData),
              m["uncompressed_sha256"]?.stringValue == contentSHA,
              m["records"]?.intValue == records,
              let sha = m["sha256"]?.stringValue,
              let file = FileManager.default.contents(atPath: base + ".jsonl.zst"),
              file.withUnsafeBytes({ SHA256.hex(of: $0) }) == sha
        else { return nil }
        return ShardInfo(path: base + ".jsonl.zst", records: records, bytes: file.count, uncompressedBytes: uncompressed, sha256: sha)
    }
}
