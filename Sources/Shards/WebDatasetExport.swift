import CArchive
import Corpus
import Foundation
import Hashing

/// Writes WebDataset shards: USTAR tar files (through libarchive) in which each sample is a
/// group of adjacent members sharing a key: `KEY.json` (the record) and `KEY.txt` (the
/// assistant turn as trained on: `<think>\n{reasoning}\n</think>\n\n{answer}`, or the answer
/// alone). Keys are zero-padded positions (no dots, which webdataset reads as extensions).
/// Members carry a fixed time stamp, so the same records give the same bytes.
final class TarShardWriter {
    let directory: String
    let sizeLimit: Int
    private var archive: OpaquePointer? = nil
    private var tempPath = ""
    private var bytes = 0
    private var records = 0
    private(set) var shards: [ShardInfo] = []

    init(directory: String, sizeLimit: Int) {
        self.directory = directory
        self.sizeLimit = max(1, sizeLimit)
    }

    private func open() throws {
        let name = String(format: "data-%06d.tar", shards.count)
        tempPath = "\(directory)/\(name).tmp-\(getpid())"
        guard let a = archive_write_new() else { throw FileError(path: tempPath, message: "libarchive: out of memory") }
        archive_write_set_format_ustar(a)
        guard archive_write_open_filename(a, tempPath) == ARCHIVE_OK else {
            let msg = archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
            archive_write_free(a)
            throw FileError(path: tempPath, message: "cannot create: \(msg)")
        }
        archive = a
        bytes = 0
        records = 0
    }

    /// Adds one sample; starts a new shard first when this one is full.
    func add(key: String, members: [(ext: String, data: [UInt8])]) throws {
        let size = members.reduce(0) { $0 + 512 + ($1.data.count + 511) / 512 * 512 }
        if archive != nil && records > 0 && bytes + size > sizeLimit { try close() }
        if archive == nil { try open() }
        guard let a = archive else { return }
        for m in members {
            guard let e = archive_entry_new() else { throw FileError(path: tempPath, message: "libarchive: out of memory") }
            defer { archive_entry_free(e) }
            archive_entry_set_pathname(e, "\(key).\(m.ext)")
            archive_entry_set_size(e, Int64(m.data.count))
            archive_entry_set_filetype(e, cf_ae_ifreg)
            archive_entry_set_perm(e, 0o644)
            archive_entry_set_mtime(e, 0, 0)
            guard archive_write_header(a, e) == ARCHIVE_OK else {
                throw FileError(path: tempPath, message: "cannot write \(key).\(m.ext): " + (archive_error_string(a).map { String(cString: $0) } ?? "?"))
            }
            let n = m.data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            guard n == m.data.count else { throw FileError(path: tempPath, message: "short write of \(key).\(m.ext)") }
        }
        bytes += size
        records += 1
    }

    /// Completes the current shard: closes the tar, hashes it, renames it into place.
    func close() throws {
        guard let a = archive else { return }
        archive = nil
        let ok = archive_write_close(a) == ARCHIVE_OK
        archive_write_free(a)
        guard ok else { throw FileError(path: tempPath, message: "cannot finish the tar") }
        let name = String(format: "data-%06d.tar", shards.count)
        let final = "\(directory)/\(name)"
        guard rename(tempPath, final) == 0 else { throw FileError.errno(final, "cannot move into place") }
        guard let sha = try SHA256.hex(ofFile: final) else { throw FileError.errno(final, "cannot read back") }
        let size = ((try? FileManager.default.attributesOfItem(atPath: final))?[.size] as? Int) ?? 0
        shards.append(ShardInfo(path: final, records: records, bytes: size, uncompressedBytes: size, sha256: sha))
    }
}

/// `cotforge export DIR --format wds`: the dataset's splits as WebDataset tar shards under
/// `DIR/wds/SPLIT/`, listed (path, records, bytes, sha256) in the manifest under `exports.wds`.
public enum WebDatasetExport {
    /// The text a model is trained on for a record: the assistant turn.
    public static func assistantText(_ r: Example) -> String { assistantText(reasoning: r.reasoning, answer: r.answer) }

    static func assistantText(reasoning: String?, answer: String?) -> String {
        let answer = answer ?? ""
        guard let reasoning, !reasoning.isEmpty else { return answer }
        return "<think>\n\(reasoning)\n</think>\n\n\(answer)"
    }

    /// A sample key: the record's position, zero-padded to 9 digits (sorts as it counts).
    static func key(_ n: Int) -> String {
        let digits = String(n)
        return digits.count >= 9 ? digits : String(repeating: "0", count: 9 - digits.count) + digits
    }

    public static func run(dataset dir: String, sizeLimit: Int = 256 << 20, progress: (String) -> Void = { _ in }) throws -> [String: [ShardInfo]] {
        try DatasetExport.run(dataset: dir, name: "wds", header: [("format", .string("webdataset")), ("members", .array([.string("json"), .string("txt")]))]) { split in
            let writer = TarShardWriter(directory: split.folder, sizeLimit: sizeLimit)
            var index = 0
            progress(split.name)
            // Only reasoning and answer are decoded; the record goes into KEY.json as stored.
            try split.forEachRecord { b, members, object in
                func text(_ key: String) throws -> String? {
                    guard let m = members.first(where: { $0.key == key }), m.kind == .string else { return nil }
                    return try JSONScanner.decodeString(b, at: object.lowerBound + m.range.lowerBound)
                }
                let txt = assistantText(reasoning: try text("reasoning"), answer: try text("answer"))
                try writer.add(key: key(index), members: [("json", Array(b)), ("txt", Array(txt.utf8))])
                index += 1
            }
            try writer.close()
            return writer.shards
        }
    }
}
