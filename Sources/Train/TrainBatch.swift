/// One training batch: `rows` sequences of `length` tokens, each row holding one or more
/// packed examples. `targets[i]` is the token that should follow `tokens[i]` (−1: no loss
/// there, as on prompt tokens and padding); `positions[i]` is the RoPE position inside its
/// example; `segments[i]` numbers the examples of a row, and attention never crosses from
/// one segment into another, so packed examples do not see each other.
public struct TrainBatch: Sendable, Equatable {
    public let rows: Int
    public let length: Int
    public var tokens: [Int32]
    public var targets: [Int32]
    public var positions: [Int32]
    public var segments: [Int32]

    public init(rows: Int, length: Int, tokens: [Int32], targets: [Int32], positions: [Int32], segments: [Int32]) {
        precondition(rows > 0 && length > 0, "a batch has at least one row of one token")
        let n = rows * length
        precondition(tokens.count == n && targets.count == n && positions.count == n && segments.count == n,
                     "tokens, targets, positions and segments hold rows × length = \(n) entries each")
        self.rows = rows; self.length = length
        self.tokens = tokens; self.targets = targets; self.positions = positions; self.segments = segments
    }

    /// Examples packed whole into rows of `length` tokens, in order, a new row when the next
    /// example does not fit; each example its own segment with positions from 0, the rest of
    /// a row padding (its own segment, no loss). Throws when an example is longer than a row.
    public static func packed(_ examples: [TrainExample], length: Int, padding: Int32 = 0) throws -> TrainBatch {
        var rows: [[TrainExample]] = [[]]
        var used = 0
        for e in examples {
            guard e.tokens.count <= length else {
                throw TrainError("an example of \(e.tokens.count) tokens does not fit a row of \(length)", hint: "raise the context length or drop long examples")
            }
            if used + e.tokens.count > length { rows.append([]); used = 0 }
            rows[rows.count - 1].append(e)
            used += e.tokens.count
        }
        var tokens: [Int32] = [], targets: [Int32] = [], positions: [Int32] = [], segments: [Int32] = []
        for row in rows {
            for (s, e) in row.enumerated() {
                for i in e.tokens.indices {
                    tokens.append(e.tokens[i])
                    targets.append(i + 1 < e.tokens.count && e.trained[i + 1] ? e.tokens[i + 1] : -1)
                    positions.append(Int32(i))
                    segments.append(Int32(s))
                }
            }
            let pad = length - row.reduce(0) { $0 + $1.tokens.count }
            tokens += Array(repeating: padding, count: pad); targets += Array(repeating: -1, count: pad)
            positions += Array(repeating: 0, count: pad); segments += Array(repeating: Int32(row.count), count: pad)
        }
        return TrainBatch(rows: rows.count, length: length, tokens: tokens, targets: targets, positions: positions, segments: segments)
    }

    /// The batch cut into consecutive groups of at most `rows` rows (gradient accumulation).
    public func split(rows per: Int) -> [TrainBatch] {
        precondition(per >= 1)
        guard per < rows else { return [self] }
        return stride(from: 0, to: rows, by: per).map { r0 in
            let n = min(per, rows - r0), range = (r0 * length)..<((r0 + n) * length)
            return TrainBatch(rows: n, length: length, tokens: Array(tokens[range]), targets: Array(targets[range]),
                              positions: Array(positions[range]), segments: Array(segments[range]))
        }
    }

    /// Tokens that carry a loss.
    public var lossTokens: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}

/// One training example: its tokens and, per token, whether the model is trained to predict
/// it (the assistant's tokens of a chat; false for the prompt).
public struct TrainExample: Sendable, Equatable {
    public var tokens: [Int32]
    public var trained: [Bool]
    public init(tokens: [Int32], trained: [Bool]) {
        precondition(tokens.count == trained.count, "one trained flag per token")
        self.tokens = tokens; self.trained = trained
    }
}
