/// A recipe that cannot be loaded or run: what is wrong, where (the recipe file, line and key
/// path such as `steer.calibrate.alphas`) and what to do.
public struct RecipeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var file: String?
    public var line: Int?
    /// Dotted key path in the recipe (`sample.max_tokens`), when the problem is one key's.
    public var key: String?
    public var hint: String?

    public init(_ message: String, file: String? = nil, line: Int? = nil, key: String? = nil, hint: String? = nil) {
        self.message = message; self.file = file; self.line = line; self.key = key; self.hint = hint
    }

    public var description: String {
        var s = ""
        if let file { s += file + (line.map { ":\($0)" } ?? "") + ": " }
        if let key, !key.isEmpty { s += key + ": " }
        s += message
        if let hint { s += " — " + hint }
        return s
    }
}
