import Corpus
import Foundation

/// The safety metrics as a table: one row per decoding mode (harmful prompts: Safe@1, Safe@K,
/// ConsSafe@K; benign prompts: over-refusal), then per mode and category.
public enum SafetyTable {
    public static func text(byMode: [String: SafetyMetrics], byCategory: [String: SafetyMetrics]) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "–" }
        // The name column is as wide as the longest name, so the figures line up.
        let width = ((["mode / category".count] + byMode.keys.map(\.count) + byCategory.keys.map { $0.count + 2 }).max() ?? 0) + 1
        func row(_ name: String, _ m: SafetyMetrics) -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0)
                + [String(m.prompts), pct(m.safeAt1), pct(m.safeAtK), pct(m.consSafeAtK), String(m.benignResponses), pct(m.overRefusal)]
                .map { String(repeating: " ", count: max(0, 9 - $0.count)) + $0 }.joined(separator: " ")
        }
        var lines = ["mode / category".padding(toLength: width, withPad: " ", startingAt: 0)
                     + ["prompts", "Safe@1", "Safe@K", "ConsSafe", "benign", "over-ref"].map { String(repeating: " ", count: max(0, 9 - $0.count)) + $0 }.joined(separator: " ")]
        for (k, m) in byMode.sorted(by: { $0.key < $1.key }) { lines.append(row(k, m)) }
        for (k, m) in byCategory.sorted(by: { $0.key < $1.key }) { lines.append(row("  " + k, m)) }
        return lines.joined(separator: "\n")
    }
}
