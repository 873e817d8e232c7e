import Hashing
import Foundation

/// A fresh folder under the system's temporary directory, removed when released.
public final class TempDir {
    public let path: String

    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cotforge-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes bytes to `name` in the folder; returns the file's path.
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Writes lines (each followed by a newline) to `name`; returns the file's path.
    public func write(_ name: String, lines: [String]) throws -> String {
        try write(name, Array((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// The project's seeded generator (splitmix64), under the name the tests use.
public typealias SeededRandom = SplitMix64
