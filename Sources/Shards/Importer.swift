import CArchive
import Corpus
import Foundation

/// `cotforge import`: records from the layouts other tools write, back to JSON Lines, so a
/// corpus can round-trip. Reads JSON Lines (`.jsonl`, `.jsonl.zst`), JSON arrays of objects
/// (`.json`), MosaicML MDS (a folder with `index.json`, or the `index.json` itself; columns
/// `str`, `int`/`int64`, `json`) and WebDataset tars (a `.tar`, or a folder of them; each
/// sample's `KEY.json` member is the record). Every record comes out as one compact JSON object
/// per line; bad input is an error naming the file and the line, element, shard or member.
public enum Importer {
    public enum Layout: String, Sendable { case jsonl, json, mds, wds }

    /// The layout of `path`, from what is there.
    public static func detect(_ path: String) throws -> Layout {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FileError(path: path, message: "no such file or folder")
        }
        if isDir.boolValue {
            if FileManager.default.fileExists(atPath: path + "/index.json") { return .mds }
            if (try tars(in: path)).count > 0 { return .wds }
            throw FileError(path: path, message: "neither an MDS folder (index.json) nor a folder of WebDataset .tar shards",
                            hint: "for a cotforge dataset, import one of its data/*.jsonl.zst files, or mds/SPLIT or wds/SPLIT")
        }
        if path.hasSuffix("index.json") { return .mds }
        if path.hasSuffix(".tar") { return .wds }
        if path.hasSuffix(".json") { return .json }
        return .jsonl
    }

    /// Writes every record of `path` to `out`; returns the number written.
    @discardableResult
    public static func run(_ path: String, to out: JSONLWriter, progress: (String) -> Void = { _ in }) throws -> Int {
        let before = out.records
        switch try detect(path) {
        case .jsonl: try jsonl(path, out)
        case .json: try jsonArray(path, out)
        case .mds: try mds(path.hasSuffix("index.json") ? String(path.dropLast("/index.json".count)) : path, out, progress)
        case .wds:
            let files = path.hasSuffix(".tar") ? [path] : try tars(in: path).map { path + "/" + $0 }
            for f in files { progress(f); try tar(f, out) }
        }
        return out.records - before
    }

    static func tars(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".tar") }.sorted()
    }

    static func jsonl(_ path: String, _ out: JSONLWriter) throws {
        var members: [JSONMember] = []
        try LineReader(try openInput(path)).forEachLine { line in
            guard line.bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
            do {
                let r = try JSONScanner.scanObject(line.bytes, into: &members)
                try out.writeLine(UnsafeRawBufferPointer(rebasing: line.bytes[r]))
            } catch let e as JSONParseError {
                throw FileError(path: path, message: "line \(line.number): \(e)", offset: line.offset, hint: "each line must be one JSON object")
            }
        }
    }

    static func jsonArray(_ path: String, _ out: JSONLWriter) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path: path, message: "cannot read") }
        let doc: JSONValue
        do { doc = try JSONScanner.parse(data) } catch let e as JSONParseError {
            throw FileError(path: path, message: "\(e)", hint: "a .json file must hold one JSON array of objects (use .jsonl for JSON Lines)")
        }
        guard let items = doc.arrayValue else {
            throw FileError(path: path, message: "holds a JSON \(doc.kind.rawValue), not an array", hint: "a .json file must hold one JSON array of objects")
        }
        for (i, item) in items.enumerated() {
            guard item.objectValue != nil else {
                throw FileError(path: path, message: "element \(i) is a JSON \(item.kind.rawValue), not an object", hint: "every element must be a record object")
            }
            try out.write(item)
        }
    }

    /// Reads an MDS dataset (`index.json` version 2 and its shards, zstd or uncompressed).
    /// Fields of `json` columns that are null are left out: the export writes absent fields as null.
    static func mds(_ folder: String, _ out: JSONLWriter, _ progress: (String) -> Void) throws {
        let indexPath = folder + "/index.json"
        guard let data = FileManager.default.contents(atPath: indexPath) else { throw FileError(path: indexPath, message: "cannot read") }
        guard let shards = try JSONScanner.parse(data).objectValue?["shards"]?.arrayValue else {
            throw FileError(path: indexPath, message: "no \"shards\" list", hint: "is this an MDS index.json (version 2)?")
        }
        for (si, s) in shards.enumerated() {
            guard let sh = s.objectValue, let names = sh["column_names"]?.arrayValue?.compactMap(\.stringValue),
                  let encodings = sh["column_encodings"]?.arrayValue?.compactMap(\.stringValue), names.count == encodings.count,
                  let rawName = sh["raw_data"]?.objectValue?["basename"]?.stringValue else {
                throw FileError(path: indexPath, message: "shard \(si): missing column_names, column_encodings or raw_data")
            }
            for (n, e) in zip(names, encodings) where !["str", "int", "int64", "json"].contains(e) {
                throw FileError(path: indexPath, message: "column \(n) has encoding \(e); import reads str, int, int64 and json",
                                hint: "convert the dataset with streaming to those encodings first")
            }
            let zipName = sh["zip_data"]?.objectValue?["basename"]?.stringValue
            let file = folder + "/" + (zipName ?? rawName)
            progress(file)
            guard let stored = FileManager.default.contents(atPath: file) else { throw FileError(path: file, message: "missing or unreadable (listed in index.json)") }
            let compression = sh["compression"]?.stringValue
            if let c = compression, !c.hasPrefix("zstd") {
                throw FileError(path: file, message: "compressed with \(c); import reads zstd or uncompressed MDS")
            }
            let raw = zipName != nil ? try stored.withUnsafeBytes { try zstdDecompress($0) } : [UInt8](stored)
            try raw.withUnsafeBytes { b in try mdsShard(b, file: file, names: names, encodings: encodings, out) }
        }
    }

    static func mdsShard(_ b: UnsafeRawBufferPointer, file: String, names: [String], encodings: [String], _ out: JSONLWriter) throws {
        func u32(_ at: Int) throws -> Int {
            guard at >= 0, at + 4 <= b.count else { throw FileError(path: file, message: "truncated at byte \(at)", offset: Int64(at)) }
            return Int(b.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
        }
        let n = try u32(0)
        let variable = encodings.filter { $0 == "str" || $0 == "json" }.count
        for i in 0..<n {
            let start = try u32(4 + 4 * i), end = try u32(8 + 4 * i)
            guard start <= end, end <= b.count, start + 4 * variable <= end else {
                throw FileError(path: file, message: "sample \(i): offsets \(start)..<\(end) do not fit the shard", offset: Int64(4 + 4 * i))
            }
            var sizeAt = start, at = start + 4 * variable
            var record = JSONObject()
            for (name, enc) in zip(names, encodings) {
                if enc == "int" || enc == "int64" {
                    guard at + 8 <= end else { throw FileError(path: file, message: "sample \(i): column \(name) runs past the sample", offset: Int64(at)) }
                    record[name] = .int(Int(Int64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: Int64.self))))
                    at += 8
                    continue
                }
                let size = try u32(sizeAt)
                sizeAt += 4
                guard at + size <= end else { throw FileError(path: file, message: "sample \(i): column \(name) runs past the sample", offset: Int64(at)) }
                let bytes = UnsafeRawBufferPointer(rebasing: b[at..<(at + size)])
                at += size
                if enc == "str" {
                    record[name] = .string(String(decoding: bytes, as: UTF8.self))
                } else {
                    let v: JSONValue
                    do { v = try JSONScanner.parse(bytes) } catch {
                        throw FileError(path: file, message: "sample \(i): column \(name) is not JSON: \(error)", offset: Int64(at - size))
                    }
                    if v != .null { record[name] = v }
                }
            }
            try out.write(.object(record))
        }
    }

    /// Reads a WebDataset tar: members grouped by key (the name up to its first dot in the last
    /// path component); each sample's `KEY.json` is the record.
    static func tar(_ path: String, _ out: JSONLWriter) throws {
        guard let a = archive_read_new() else { throw FileError(path: path, message: "libarchive: out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_format_tar(a)
        guard archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK else {
            throw FileError(path: path, message: "cannot open as a tar: " + (archive_error_string(a).map { String(cString: $0) } ?? "?"))
        }
        var entry: OpaquePointer? = nil
        var key: String? = nil, hadJSON = false
        func endSample() throws {
            if let k = key, !hadJSON {
                throw FileError(path: path, message: "sample \(k) has no \(k).json member", hint: "import reads the record from KEY.json")
            }
        }
        while true {
            let r = archive_read_next_header(a, &entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let e = entry else {
                throw FileError(path: path, message: "damaged tar: " + (archive_error_string(a).map { String(cString: $0) } ?? "?"))
            }
            guard archive_entry_filetype(e) == cf_ae_ifreg, let cname = archive_entry_pathname(e) else { archive_read_data_skip(a); continue }
            let name = String(cString: cname)
            let base = name.split(separator: "/").last.map(String.init) ?? name
            let dir = String(name.dropLast(base.count))
            guard let dot = base.firstIndex(of: ".") else { archive_read_data_skip(a); continue }
            let k = dir + base[..<dot], ext = String(base[base.index(after: dot)...])
            if k != key { try endSample(); key = k; hadJSON = false }
            guard ext == "json" else { archive_read_data_skip(a); continue }
            let size = Int(archive_entry_size(e))
            var buffer = [UInt8](repeating: 0, count: size)
            var got = 0
            while got < size {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress! + got, size - got) }
                guard n > 0 else { throw FileError(path: path, message: "cannot read \(name)") }
                got += n
            }
            let v: JSONValue
            do { v = try JSONScanner.parse(buffer) } catch { throw FileError(path: path, message: "\(name) is not JSON: \(error)") }
            guard v.objectValue != nil else { throw FileError(path: path, message: "\(name) holds a JSON \(v.kind.rawValue), not a record object") }
            try out.write(v)
            hadJSON = true
        }
        try endSample()
    }
}
