#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file could not be read or written. Names the file, says what failed and what to do.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    /// Byte offset in the file (decompressed stream for .zst) where it happened, when known.
    public var offset: Int64?
    public var hint: String?

    public init(path: String, message: String, offset: Int64? = nil, hint: String? = nil) {
        self.path = path; self.message = message; self.offset = offset; self.hint = hint
    }

    /// An error from a failed system call, with `strerror` text.
    public static func errno(_ path: String, _ what: String, code: Int32 = Glibc.errno, hint: String? = nil) -> FileError {
        FileError(path: path, message: "\(what): \(String(cString: strerror(code)))", hint: hint)
    }

    public var description: String {
        var s = path
        if let o = offset { s += " (byte \(o))" }
        s += ": " + message
        if let h = hint { s += " — " + h }
        return s
    }
}
