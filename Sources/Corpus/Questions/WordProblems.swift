import Foundation
import Hashing

/// A grade-school word problem with its gold answer and a worked solution.
public struct WordProblem: Sendable, Equatable {
    public var question: String
    public var gold: Int
    /// One sentence per arithmetic step, ending with the answer.
    public var solution: [String]
    public var steps: Int
}

/// A seeded generator of grade-school word problems with gold answers, so that the tool works
/// with nothing downloaded: a person starts with some items, then 1 to 4 events change the
/// count (gains, losses, packs bought, equal shares), and the question asks what is left.
/// Problem `i` depends only on (seed, i, settings), never on how many are generated, and every
/// intermediate count stays a whole number ≥ 0.
public struct WordProblemGenerator: Sendable {
    public var seed: UInt64
    /// How many events (arithmetic steps) a problem has; drawn uniformly from the range.
    public var steps: ClosedRange<Int>
    /// 1: numbers up to 20, 2: up to 100, 3: up to 1000.
    public var difficulty: Int

    public init(seed: UInt64 = 0, steps: ClosedRange<Int> = 1...4, difficulty: Int = 1) {
        precondition(steps.lowerBound >= 1 && steps.upperBound <= 4, "1 to 4 steps")
        precondition((1...3).contains(difficulty), "difficulty 1, 2 or 3")
        self.seed = seed; self.steps = steps; self.difficulty = difficulty
    }

    static let names = ["Ava", "Ben", "Chen", "Dana", "Emeka", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Lena", "Mateo", "Nia",
                        "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara", "Zoe"]
    /// (plural, container of several, unit word for prices)
    static let items: [(String, String)] = [("apples", "bags"), ("pencils", "boxes"), ("stickers", "sheets"), ("marbles", "jars"),
                                            ("cookies", "packs"), ("books", "crates"), ("stamps", "albums"), ("shells", "buckets"),
                                            ("coins", "purses"), ("cards", "decks"), ("beads", "strings"), ("eggs", "cartons"),
                                            ("crayons", "boxes"), ("stones", "sacks"), ("buttons", "tins")]

    var limit: Int { [20, 100, 1000][difficulty - 1] }

    /// Problem number `index`.
    public func problem(_ index: Int) -> WordProblem {
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(index) &+ 0x51_7C_C1B7)))
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }
        let name = pick(Self.names)
        var other = pick(Self.names)
        while other == name { other = pick(Self.names) }
        let (item, container) = pick(Self.items)
        /// "1 apple", "3 apples" (every item's plural is its singular + s).
        func things(_ k: Int) -> String { k == 1 ? "1 \(item.dropLast())" : "\(k) \(item)" }
        let n = int(steps)
        let limit = self.limit
        var count = int(max(2, limit / 10)...max(3, limit / 2))
        var sentences = ["\(name) has \(count) \(item)."]
        var solution = ["\(name) starts with \(count) \(item)."]
        for _ in 0..<n {
            // The events that keep the count whole and within bounds from here.
            var kinds = ["gain", "gift"]
            if count >= 2 { kinds += ["loss", "give"] }
            if count <= limit { kinds.append("packs") }
            let divisors = (2...6).filter { count % $0 == 0 && count / $0 >= 1 }
            if !divisors.isEmpty { kinds.append("share") }
            switch pick(kinds) {
            case "gain":
                let b = int(1...max(2, limit / 4))
                sentences.append(pick(["\(name) finds \(b) more.", "\(name) buys \(b) more \(item).", "Then \(name) collects another \(things(b))."]))
                solution.append("Adding \(b): \(count) + \(b) = \(count + b).")
                count += b
            case "gift":
                let b = int(1...max(2, limit / 4))
                sentences.append("\(other) gives \(name) \(things(b)).")
                solution.append("\(other) adds \(b): \(count) + \(b) = \(count + b).")
                count += b
            case "loss":
                let b = int(1...max(1, count - 1))
                sentences.append(pick(["\(name) loses \(things(b)).", "\(name) uses \(b) of the \(item).", "\(name) sells \(things(b))."]))
                solution.append("Taking away \(b): \(count) - \(b) = \(count - b).")
                count -= b
            case "give":
                let b = int(1...max(1, count - 1))
                sentences.append("\(name) gives \(things(b)) to \(other).")
                solution.append("Giving \(b) to \(other): \(count) - \(b) = \(count - b).")
                count -= b
            case "packs":
                let k = int(2...(difficulty == 1 ? 4 : 9)), each = int(2...max(3, min(12, limit / 10)))
                sentences.append("\(name) buys \(k) \(container) with \(each) \(item) in each.")
                solution.append("The \(container) hold \(k) × \(each) = \(k * each), so \(count) + \(k * each) = \(count + k * each).")
                count += k * each
            default:  // share
                let d = pick(divisors)
                sentences.append("\(name) shares the \(item) equally among \(d) friends, \(name) included, and keeps one share.")
                solution.append("One share of \(count) among \(d) is \(count) ÷ \(d) = \(count / d).")
                count /= d
            }
        }
        sentences.append(pick(["How many \(item) does \(name) have now?", "How many \(item) does \(name) have at the end?",
                               "How many \(item) are left with \(name)?"]))
        solution.append("So the answer is \(count).")
        return WordProblem(question: sentences.joined(separator: " "), gold: count, solution: solution, steps: n)
    }

    /// Problems `start ..< start + count` as records: `id` `arith-<seed>-<i>`, task math,
    /// question, gold, source {name, index, license}.
    public func records(count: Int, start: Int = 0) -> [Example] {
        (start..<(start + count)).map { i in
            let p = problem(i)
            var e = Example()
            e.id = "arith-\(seed)-\(i)"
            e.task = "math"
            e["source"] = .object(JSONObject([("name", .string("cotforge-arith")), ("index", .int(i)), ("license", .string("MIT")),
                                              ("steps", .int(p.steps)), ("difficulty", .int(difficulty))]))
            e.question = p.question
            e.gold = String(p.gold)
            return e
        }
    }
}
