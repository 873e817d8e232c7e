import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing to standard error, and a progress line that redraws in place on a terminal and
/// prints a line every few seconds otherwise (CI logs).
enum Terminal {
    static let isTTY = isatty(2) != 0

    static func err(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    static func out(_ s: String) {
        FileHandle.standardOutput.write(Data((s + "\n").utf8))
    }
}

final class ProgressLine {
    private var last = Date()
    private var drawn = false
    private let interval: TimeInterval

    init() { interval = Terminal.isTTY ? 0.2 : 5 }

    func update(_ text: @autoclosure () -> String, force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(last) >= interval else { return }
        last = now
        if Terminal.isTTY {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text()).utf8))
            drawn = true
        } else {
            Terminal.err(text())
        }
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); drawn = false }
    }
}

/// "64MiB", "1GB", "500k", "1048576" → bytes. K/M/G and KiB/MiB/GiB are binary; KB/MB/GB decimal.
func parseByteSize(_ text: String) -> Int? {
    let t = text.trimmingCharacters(in: .whitespaces)
    let digits = t.prefix { $0.isNumber || $0 == "." }
    guard let n = Double(digits), n >= 0 else { return nil }
    let unit = t.dropFirst(digits.count).lowercased()
    let factor: Double
    switch unit {
    case "", "b": factor = 1
    case "k", "kib": factor = 1024
    case "kb": factor = 1000
    case "m", "mib": factor = 1_048_576
    case "mb": factor = 1e6
    case "g", "gib": factor = 1_073_741_824
    case "gb": factor = 1e9
    default: return nil
    }
    let v = n * factor
    return v < Double(Int.max) ? Int(v) : nil
}

func formatBytes(_ n: Int64) -> String {
    let d = Double(n)
    if d >= 1_073_741_824 { return String(format: "%.2f GiB", d / Double(1 << 30)) }
    if d >= 1_048_576 { return String(format: "%.1f MiB", d / Double(1 << 20)) }
    if d >= 1024 { return String(format: "%.1f KiB", d / 1024) }
    return "\(n) B"
}
