import ArgumentParser
import CArchive
import Corpus
import Hashing
import Shards

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the version of cotforge and of the system libraries it is linked with (for bug reports).",
        discussion: "Example:\n  cotforge version")

    func run() throws {
        Terminal.out("cotforge \(Cotforge.version)")
        Terminal.out("zstd \(Zstd.version)")
        Terminal.out(String(cString: archive_version_details()))
        Terminal.out(SHA256.libraryVersion)
    }
}
