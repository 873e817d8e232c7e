import Corpus
import Foundation

/// The frame every export of a built dataset shares: read `manifest.json`, start `DIR/NAME/`
/// afresh, let the format write each non-empty split into `DIR/NAME/SPLIT/`, list what it wrote
/// (paths relative to DIR, records, bytes, sha256) under `exports.NAME`, and re-render the card
/// and the report.
enum DatasetExport {
    struct Split {
        let name: String
        /// The split's entry in the manifest (records, shards, mds_columns, ...).
        let entry: JSONObject
        /// The split's JSONL.zst shards, as paths.
        let shards: [String]
        /// Where the format writes this split (created).
        let folder: String
        let manifestPath: String

        /// Every record of the split as (line bytes, top-level members, object range); nothing
        /// is parsed beyond that.
        func forEachRecord(_ body: (UnsafeRawBufferPointer, [JSONMember], Range<Int>) throws -> Void) throws {
            var members: [JSONMember] = []
            for path in shards {
                try LineReader(try openInput(path)).forEachLine { line in
                    let object = try JSONScanner.scanObject(line.bytes, into: &members)
                    try body(line.bytes, members, object)
                }
            }
        }
    }

    static func run(dataset dir: String, name: String, header: [(String, JSONValue)],
                    writeSplit: (Split) throws -> [ShardInfo]) throws -> [String: [ShardInfo]] {
        let manifestPath = dir + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: manifestPath),
              case .object(var m) = try JSONScanner.parse(data), let splits = m["splits"]?.objectValue else {
            throw FileError(path: manifestPath, message: "missing or unreadable", hint: "export a dataset built by cotforge shard")
        }
        let fm = FileManager.default
        let root = "\(dir)/\(name)"
        if fm.fileExists(atPath: root) { try fm.removeItem(atPath: root) }
        var result: [String: [ShardInfo]] = [:]
        var listed = JSONObject()
        for (split, v) in splits {
            let entry = v.objectValue ?? JSONObject()
            let shards = entry["shards"]?.arrayValue?.compactMap { $0.objectValue?["path"]?.stringValue } ?? []
            guard !shards.isEmpty else { continue }
            let folder = "\(root)/\(split)"
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let written = try writeSplit(Split(name: split, entry: entry, shards: shards.map { "\(dir)/\($0)" }, folder: folder, manifestPath: manifestPath))
            let infos = written.map { s -> ShardInfo in var r = s; r.path = String(s.path.dropFirst(dir.count + 1)); return r }
            result[split] = infos
            listed[split] = ShardJob.fileset(infos)
        }
        var exports = m["exports"]?.objectValue ?? JSONObject()
        exports[name] = .object(JSONObject(header + [("splits", .object(listed))]))
        m["exports"] = .object(exports)
        try writeText(JSONSerializer.pretty(.object(m)), to: manifestPath)
        try DatasetCard.refresh(dataset: dir)
        try Report.write(dataset: dir)
        return result
    }
}
