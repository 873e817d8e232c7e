import Corpus
import Hashing
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

    /// `compressor` may be shared by the writers of one job: only one shard compresses at a time.
    init(split: String, workDir: String, shardSize: Int, compressor: ZstdCompressor) throws {
        self.split = split
        self.workDir = workDir
        self.shardSize = max(1, shardSize)
        self.compressor = compressor
        buffer.reserveCapacity(min(self.shardSize, 1 << 30) + (1 << 16))
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
        if let info = reusable(base: base, records: records, content: content) {
            shards.append(info)
            reused += 1
            return
        }
        let (bytes, sha) = try compressor.compressFrame(content) { frame -> (Int, String) in
            // Not fsync'ed: a resumed run trusts a shard only after checking its SHA-256.
            let sink = try FileSink(path: base + ".jsonl.zst", durable: false)
            try sink.write(frame)
            try sink.finish()
            return (frame.count, SHA256.hex(of: frame))
        }
        let marker = JSONObject([("records", .int(records)), ("uncompressed_bytes", .int(count)), ("bytes", .int(bytes)), ("sha256", .string(sha))])
        try writeText(JSONSerializer.pretty(.object(marker)), to: base + ".done.json", durable: false)
        shards.append(ShardInfo(path: base + ".jsonl.zst", records: records, bytes: bytes, uncompressedBytes: count, sha256: sha))
    }

    /// A completed shard from an interrupted run holding exactly `content`: its marker agrees,
    /// its SHA-256 matches the marker, and it decompresses to the same bytes (≥ 1 GB/s, much
    /// cheaper than compressing again). Fresh runs have no marker and pay nothing here.
    private func reusable(base: String, records: Int, content: UnsafeRawBufferPointer) -> ShardInfo? {
        guard let markerData = FileManager.default.contents(atPath: base + ".done.json"),
              case .object(let m)? = try? JSONScanner.parse(markerData),
              m["records"]?.intValue == records, m["uncompressed_bytes"]?.intValue == content.count,
              let sha = m["sha256"]?.stringValue,
              let file = FileManager.default.contents(atPath: base + ".jsonl.zst"),
              file.withUnsafeBytes({ SHA256.hex(of: $0) }) == sha,
              let plain = try? file.withUnsafeBytes({ try zstdDecompress($0) }),
              plain.count == content.count,
              plain.withUnsafeBytes({ memcmp($0.baseAddress!, content.baseAddress!, content.count) == 0 })
        else { return nil }
        return ShardInfo(path: base + ".jsonl.zst", records: records, bytes: file.count, uncompressedBytes: content.count, sha256: sha)
    }
}
