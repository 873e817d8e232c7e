import CArchive
import Foundation
import Hashing

/// Reads members of zip files (Python wheels are zips) through libarchive.
public enum ZipReader {
    /// Streams member `member` of the zip at `zipPath` to `destination` (through a temporary
    /// name), hashing it on the way; returns its SHA-256 and size. Throws `GGUFError`-style
    /// `StoreError`s naming the archive.
    public static func extract(member: String, from zipPath: String, to destination: String,
                               progress: (Int) -> Void = { _ in }) throws -> (sha256: String, bytes: Int) {
        guard let a = archive_read_new() else { throw StoreError(message: "libarchive: out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_format_zip(a)
        guard archive_read_open_filename(a, zipPath, 1 << 16) == ARCHIVE_OK else {
            throw StoreError(message: "\(zipPath): cannot open as a zip archive: \(errorString(a))")
        }
        var entry: OpaquePointer? = nil
        var names: [String] = []
        while true {
            let r = archive_read_next_header(a, &entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let e = entry else {
                throw StoreError(message: "\(zipPath): damaged archive: \(errorString(a))")
            }
            // archive_entry_pathname can return NULL (names in an unknown encoding).
            guard let cname = archive_entry_pathname(e) else { archive_read_data_skip(a); continue }
            let name = String(cString: cname)
            guard name == member else { names.append(name); archive_read_data_skip(a); continue }

            let temp = destination + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: temp, contents: nil), let out = FileHandle(forWritingAtPath: temp) else {
                throw StoreError(message: "\(temp): cannot create")
            }
            var ok = false
            defer {
                try? out.close()
                if !ok { try? FileManager.default.removeItem(atPath: temp) }
            }
            let hasher = SHA256()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var total = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                if n == 0 { break }
                guard n > 0 else { throw StoreError(message: "\(zipPath): cannot read \(member): \(errorString(a))") }
                try buffer.withUnsafeBytes { b in
                    let chunk = UnsafeRawBufferPointer(rebasing: b[0..<n])
                    hasher.update(chunk)
                    try out.write(contentsOf: Data(chunk))
                }
                total += n
                progress(total)
            }
            try out.synchronize()
            try? out.close()
            guard rename(temp, destination) == 0 else { throw StoreError(message: "\(destination): cannot move into place") }
            ok = true
            return (hasher.finalizeHex(), total)
        }
        throw StoreError(message: "\(zipPath) has no member \(member) (it has: \(names.prefix(8).joined(separator: ", ")))",
                         hint: "the package layout changed; check the package version")
    }

    private static func errorString(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
    }
}

/// A model cannot be found, fetched or checked.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String?
    public init(message: String, hint: String? = nil) { self.message = message; self.hint = hint }
    public var description: String { hint.map { "\(message) — \($0)" } ?? message }
}
