import Foundation

/// Near-dedup in four passes with files in between, for corpora that do not fit one process
/// (the shape of datatrove's MinHash pipeline). Every pass is restartable: a finished unit
/// leaves a `.done` marker and is skipped when run again.
///
/// 1. `signatures` (per input slice i of n): band keys of the slice's records →
///    `sig-i.bin` (per record: global position, survivor metric, band keys).
/// 2. `buckets` (per band slice j of m): for bands b ≡ j (mod m), records sharing a band key →
///    `pairs-j.bin` (position pairs).
/// 3. `clusters` (once): union-find over all pairs → `survivors.bin` (per position, its survivor).
/// 4. `remove` (per input slice i of n, as in pass 1): the slice's survivors to the output, the
///    rest to rejects (`dedup.minhash`).
/// Positions count records over all inputs in order; slices take positions ≡ i (mod n).
public struct MinHashPasses {
    public let dedup: MinHashDeduplicator
    public let work: String
    public var readOptions = RecordReader.Options()

    public init(options: MinHashDeduplicator.Options, work: String) {
        dedup = MinHashDeduplicator(options: options)
        self.work = work
    }

    static let magic: UInt32 = 0x484D_4643  // "CFMH"
    static let version: UInt32 = 1

    enum Kind: UInt32 { case signatures = 1, pairs = 2, survivors = 3 }

    /// Writes `payload` (UInt64 words) under a header [magic, version, kind, bands, rows, count].
    func write(_ name: String, kind: Kind, count: Int, words: [UInt64]) throws {
        var out: [UInt64] = [UInt64(MinHashPasses.magic) | UInt64(MinHashPasses.version) << 32,
                             UInt64(kind.rawValue) | UInt64(dedup.options.bands) << 32,
                             UInt64(dedup.options.rows) | UInt64(dedup.options.ngram) << 32, UInt64(count)]
        out += words
        let sink = try FileSink(path: "\(work)/\(name)", durable: false)
        try out.withUnsafeBytes { try sink.write($0) }
        try sink.finish()
        try Data().write(to: URL(fileURLWithPath: "\(work)/\(name).done"))
    }

    /// Reads a file written by `write`, checking its header against this run's options.
    func read(_ name: String, kind: Kind) throws -> (count: Int, words: [UInt64]) {
        let path = "\(work)/\(name)"
        guard FileManager.default.fileExists(atPath: path + ".done"), let data = FileManager.default.contents(atPath: path) else {
            throw FileError(path: path, message: "missing or unfinished", hint: "run the earlier dedup pass first")
        }
        guard data.count >= 32, data.count % 8 == 0 else { throw FileError(path: path, message: "truncated (\(data.count) bytes)", hint: "rerun the pass that writes it") }
        let words = data.withUnsafeBytes { raw in (0..<(data.count / 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
        guard words[0] & 0xFFFF_FFFF == UInt64(MinHashPasses.magic) else { throw FileError(path: path, message: "not a cotforge dedup file (bad magic)") }
        guard words[0] >> 32 == UInt64(MinHashPasses.version) else { throw FileError(path: path, message: "version \(words[0] >> 32), expected \(MinHashPasses.version)") }
        guard words[1] & 0xFFFF_FFFF == UInt64(kind.rawValue) else { throw FileError(path: path, message: "holds another kind of data") }
        guard words[1] >> 32 == UInt64(dedup.options.bands), words[2] & 0xFFFF_FFFF == UInt64(dedup.options.rows),
              words[2] >> 32 == UInt64(dedup.options.ngram) else {
            throw FileError(path: path, message: "was made with other bands/rows/ngram than this run", hint: "use the same options in every pass, or a new --work folder")
        }
        return (Int(words[3]), Array(words[4...]))
    }

    func done(_ name: String) -> Bool { FileManager.default.fileExists(atPath: "\(work)/\(name).done") }

    /// Pass 1 for slice `index` of `count`. Returns false when it was already done.
    @discardableResult
    public func signatures(inputs: [String], index: Int, count: Int) throws -> Bool {
        let name = "sig-\(index)-of-\(count).bin"
        if done(name) { return false }
        var words: [UInt64] = []
        var n = 0, position = -1
        for path in inputs {
            try RecordReader(path: path, options: readOptions).forEach({ line in
                position += 1
                guard position % count == index else { return }
                let text = line.string(dedup.options.field) ?? ""
                let metric = dedup.metric(position: position, text: text) { line.value(dedup.options.scoreField)?.doubleValue }
                words.append(UInt64(position))
                words.append(metric.bitPattern)
                words += dedup.bandKeys(dedup.signature(dedup.shingles(text)))
                n += 1
            }, onReject: { _ in position += 1 })
        }
        try write(name, kind: .signatures, count: n, words: words)
        return true
    }

    func signatureFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.hasPrefix("sig-") && $0.hasSuffix(".bin") }.sorted()
    }

    /// Pass 2 for band slice `index` of `count`.
    @discardableResult
    public func buckets(index: Int, count: Int) throws -> Bool {
        let name = "pairs-\(index)-of-\(count).bin"
        if done(name) { return false }
        let stride = 2 + dedup.options.bands
        var tables: [Int: [UInt64: UInt64]] = [:]
        var pairs: [UInt64] = []
        for f in try signatureFiles() {
            let (n, w) = try read(f, kind: .signatures)
            guard w.count == n * stride else { throw FileError(path: "\(work)/\(f)", message: "holds \(w.count) words for \(n) records") }
            for r in 0..<n {
                let pos = w[r * stride]
                for b in Swift.stride(from: index, to: dedup.options.bands, by: count) {
                    let key = w[r * stride + 2 + b]
                    if let first = tables[b]?[key] { pairs.append(first); pairs.append(pos) } else { tables[b, default: [:]][key] = pos }
                }
            }
        }
        try write(name, kind: .pairs, count: pairs.count / 2, words: pairs)
        return true
    }

    /// Pass 3: every record's survivor.
    @discardableResult
    public func clusters(bandSlices: Int) throws -> Bool {
        if done("survivors.bin") { return false }
        let stride = 2 + dedup.options.bands
        var total = 0
        var metrics: [(UInt64, Double)] = []
        for f in try signatureFiles() {
            let (n, w) = try read(f, kind: .signatures)
            for r in 0..<n { metrics.append((w[r * stride], Double(bitPattern: w[r * stride + 1]))) }
            total += n
        }
        // Positions may skip lines that were not records: index the ones present.
        metrics.sort { $0.0 < $1.0 }
        let slot = Dictionary(uniqueKeysWithValues: metrics.enumerated().map { ($1.0, Int32($0)) })
        var index = MinHashDeduplicator.Index(bands: 0)
        for (_, m) in metrics { index.add([], metric: m) }
        for j in 0..<bandSlices {
            let (n, w) = try read("pairs-\(j)-of-\(bandSlices).bin", kind: .pairs)
            for p in 0..<n {
                guard let a = slot[w[2 * p]], let b = slot[w[2 * p + 1]] else { continue }
                index.union(a, b)
            }
        }
        let survivors = index.survivors()
        var words: [UInt64] = []
        words.reserveCapacity(2 * total)
        for (i, (pos, _)) in metrics.enumerated() { words.append(pos); words.append(metrics[Int(survivors[i])].0) }
        try write("survivors.bin", kind: .survivors, count: total, words: words)
        return true
    }

    /// Pass 4 for slice `index` of `count`: survivors to `output`, the rest to `rejects`.
    public func remove(inputs: [String], index: Int, count: Int, output: JSONLWriter, rejects: JSONLWriter) throws -> [StageCounts] {
        let (n, w) = try read("survivors.bin", kind: .survivors)
        var survivorOf: [UInt64: UInt64] = [:]
        survivorOf.reserveCapacity(n)
        for i in 0..<n { survivorOf[w[2 * i]] = w[2 * i + 1] }
        var read = StageCounts(name: "read"), stage = StageCounts(name: "dedup")
        var position = -1
        for path in inputs {
            try RecordReader(path: path, options: readOptions).forEach({ line in
                position += 1
                guard position % count == index else { return }
                read.keep()
                var bytes: [UInt8] = []
                line.appendWriteBytes(to: &bytes)
                let s = survivorOf[UInt64(position)] ?? UInt64(position)
                if s == UInt64(position) {
                    stage.keep()
                    try output.write(bytes)
                } else {
                    stage.drop("dedup.minhash")
                    try rejects.write(Reject(stage: "dedup", reason: "dedup.minhash", detail: "near-duplicate of record #\(s) of the input",
                                             file: path, line: line.line, offset: line.offset, id: line.id, payload: .record(bytes)).jsonBytes)
                }
            }, onReject: { r in
                position += 1
                guard position % count == index else { return }
                read.drop(r.reason)
                try rejects.write(r.jsonBytes)
            })
        }
        return [read, stage]
    }
}
