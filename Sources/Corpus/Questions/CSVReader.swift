/// RFC 4180 CSV (and TSV with `separator: "\t"`): fields separated by the separator, records by
/// CRLF or LF, fields optionally in double quotes where `""` is a quote and separators and
/// newlines are literal. The first record is the header. Errors name the line.
public struct CSVTable: Sendable {
    public var header: [String]
    /// Each row with the line it starts on (1-based, counting the header as line 1).
    public var rows: [(line: Int, fields: [String])]

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Parses `text`; a quote left open at the end, or a quote inside an unquoted field, is a
    /// `ParseError`. Blank lines are skipped.
    public init(text: String, separator: Character = ",") throws {
        var records: [(Int, [String])] = []
        var field = "", fields: [String] = []
        var line = 1, recordLine = 1
        var quoted = false, wasQuoted = false
        var chars = Array(text)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var i = 0
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty && !wasQuoted) { records.append((recordLine, fields)) }
            fields = []; field = ""; wasQuoted = false
        }
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" { field.append("\""); i += 2; continue }
                    quoted = false
                } else {
                    if c == "\n" || c == "\r\n" { line += 1 }
                    field.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case "\"":
                guard field.isEmpty else { throw ParseError(line: line, message: "a quote inside an unquoted field (quote the whole field and double the quote)") }
                quoted = true; wasQuoted = true
            case separator:
                fields.append(field); field = ""; wasQuoted = false
            case "\n", "\r\n", "\r":
                endRecord()
                line += 1
                recordLine = line
            default:
                if wasQuoted { throw ParseError(line: line, message: "text after a closing quote") }
                field.append(c)
            }
            i += 1
        }
        if quoted { throw ParseError(line: recordLine, message: "a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRecord() }
        guard let first = records.first else { throw ParseError(line: 1, message: "no header line") }
        header = first.1
        rows = records.dropFirst().map { (line: $0.0, fields: $0.1) }
    }

    /// The index of a column, or nil.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }
}
