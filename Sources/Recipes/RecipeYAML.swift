import Corpus
import Foundation
import Yams

/// A YAML document as a JSON value, with the line of every key path, so that errors found
/// later (schema, meaning) can name the line. Only the JSON-compatible part of YAML is
/// accepted: mappings with string keys, sequences, and null/bool/int/float/string scalars.
struct RecipeYAML {
    var value: JSONValue
    /// Dotted key path ("" for the root, `filters.0.length`) → 1-based line.
    var lines: [String: Int]

    /// Parses `text` (the contents of `file`); throws `RecipeError` naming the line for YAML
    /// syntax errors, duplicate keys, non-string keys and tags JSON has no value for.
    init(text: String, file: String) throws {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw RecipeError(Self.describe(e), file: file, line: Self.line(of: e), hint: "fix the YAML syntax")
        }
        guard let root else { throw RecipeError("the file is empty", file: file, hint: "a recipe is a YAML mapping; see datasets/s3cot-arith.yaml") }
        var lines: [String: Int] = [:]
        value = try Self.convert(root, path: "", file: file, lines: &lines)
        self.lines = lines
    }

    /// The line of `path` or of its nearest ancestor that has one.
    func line(of path: String) -> Int? {
        var p = path
        while true {
            if let l = lines[p] { return l }
            guard let dot = p.lastIndex(of: ".") else { return lines[""] }
            p = String(p[..<dot])
        }
    }

    private static func convert(_ node: Node, path: String, file: String, lines: inout [String: Int]) throws -> JSONValue {
        if let m = node.mark { lines[path] = m.line }
        func join(_ k: String) -> String { path.isEmpty ? k : path + "." + k }
        switch node {
        case .mapping(let map):
            var o = JSONObject()
            for (k, v) in map {
                guard case .scalar(let ks) = k else {
                    throw RecipeError("a key must be a plain string", file: file, line: k.mark?.line, key: path)
                }
                guard o[ks.string] == nil else { throw RecipeError("key \(ks.string) appears twice", file: file, line: k.mark?.line, key: path) }
                if let m = k.mark { lines[join(ks.string)] = m.line }
                o[ks.string] = try convert(v, path: join(ks.string), file: file, lines: &lines)
                if let m = k.mark { lines[join(ks.string)] = m.line }
            }
            return .object(o)
        case .sequence(let seq):
            return .array(try seq.enumerated().map { i, v in try convert(v, path: join(String(i)), file: file, lines: &lines) })
        case .scalar(let s):
            if s.style != .plain { return .string(s.string) }
            // YAML 1.1 plain-scalar resolution, as PyYAML reads the same file.
            if node.null != nil { return .null }
            if let b = node.bool { return .bool(b) }
            if let i = node.int { return .int(i) }
            if let d = node.float {
                guard d.isFinite else { throw RecipeError("\(s.string) is not a finite number", file: file, line: s.mark?.line, key: path) }
                return .number(Double(s.string) != nil ? s.string : "\(d)")
            }
            return .string(s.string)
        case .alias:
            throw RecipeError("YAML aliases are not supported in recipes", file: file, line: node.mark?.line, key: path, hint: "write the value out")
        }
    }

    private static func describe(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return "YAML: \(problem)"
        case .reader(let problem, _, _, _): return "YAML: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, _): return "key \(duplicates.joined(separator: ", ")) appears twice"
        default: return "YAML: \(e)"
        }
    }

    private static func line(of e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _): return m.line
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return nil
        }
    }
}
