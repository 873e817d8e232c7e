import Hashing
import Foundation

/// Why generation ended.
public enum StopReason: String, Sendable { case endOfGeneration = "eog", stopText = "stop", length }

public struct Generation: Sendable {
    public var promptTokens: [Int32]
    /// Generated tokens, without the end-of-generation token.
    public var tokens: [Int32]
    /// Generated text, cut before a stop text when one ended it.
    public var text: String
    public var stopReason: StopReason
    public var promptSeconds: Double
    public var decodeSeconds: Double
    /// How many times the request's `rewrite` replaced its target.
    public var rewrites: Int

    public init(promptTokens: [Int32], tokens: [Int32], text: String, stopReason: StopReason, promptSeconds: Double, decodeSeconds: Double,
                rewrites: Int = 0) {
        self.promptTokens = promptTokens; self.tokens = tokens; self.text = text; self.stopReason = stopReason
        self.promptSeconds = promptSeconds; self.decodeSeconds = decodeSeconds; self.rewrites = rewrites
    }
}

/// Generation with a KV cache: one sequence, or many batched.
public final class Generator: @unchecked Sendable {
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    public let chatTemplate: ChatTemplate?
    /// Tokens that end generation: EOS and the template's end-of-turn tokens.
    public let endTokens: Set<Int32>

    public init(model: LlamaModel, tokenizer: BPETokenizer, chatTemplate: ChatTemplate?) {
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        var end = Set<Int32>()
        if let e = tokenizer.eos { end.insert(e) }
        // End-of-generation texts llama.cpp recognises among control tokens (its load log lists
        // them; for SmolLM2: <|endoftext|>, <|im_end|> and <reponame>).
        for t in (chatTemplate?.stopTexts ?? []) + ["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|end_of_text|>", "<reponame>"] {
            if let id = tokenizer.id(of: t), tokenizer.isSpecial(id) { end.insert(id) }
        }
        endTokens = end
    }

    /// Loads model, tokenizer and chat template from a GGUF.
    public convenience init(_ f: GGUFFile, threads: Int = 1, precision: LlamaModel.Precision = .llamaCpp) throws {
        // The engine splits its products over its own threads (`WorkerPool`): OpenBLAS runs
        // each tile it is given on the calling thread, so a result never depends on the count.
        try BLAS.load(threads: 1)
        let template = f["tokenizer.chat_template"].flatMap { try? ChatTemplate.detect($0.stringValue) }
        let model = try LlamaModel(f, precision: precision)
        model.threads = max(1, threads)
        self.init(model: model, tokenizer: try BPETokenizer(f), chatTemplate: template)
    }

    /// Prompt tokens for plain text or a user message in the chat template. BOS is added when
    /// the model asks for it, unless the rendered text already starts with it.
    public func promptTokens(_ text: String, chat: Bool) throws -> [Int32] {
        var input = text
        if chat {
            guard let t = chatTemplate else {
                throw GGUFError(path: "", message: "the model has no supported chat template", hint: "generate without --chat")
            }
            input = t.render([ChatMessage(role: "user", content: text)])
        }
        var ids = tokenizer.encode(input, addSpecial: false, parseSpecial: true)
        if tokenizer.addBOS, let b = tokenizer.bos, ids.first != b { ids.insert(b, at: 0) }
        return ids
    }

    /// Generates up to `maxTokens` tokens after `prompt`. `onToken` sees each token and the
    /// text so far; returning false stops early.
    public func generate(prompt: [Int32], maxTokens: Int, sampler: SamplerSettings = SamplerSettings(), stopTexts: [String] = [],
                         steering: Steering? = nil, ignoreEnd: Bool = false, rewrite: TextRewrite? = nil,
                         onToken: (Int32, String) -> Bool = { _, _ in true }) throws -> Generation {
        let request = GenerationRequest(prompt: prompt, maxTokens: maxTokens, sampler: sampler, stopTexts: stopTexts,
                                        steering: steering, ignoreEnd: ignoreEnd, rewrite: rewrite)
        var memo: PromptPass? = nil
        var (cache, seq, next, _) = try begin(request, memo: &memo)
        while let token = next {
            if !onToken(token, seq.text) { seq.stop(.length); break }
            seq.rewind(&cache)
            next = seq.accept(try model.forward([token], cache: &cache, steering: steering), generator: self)
        }
        return seq.result
    }

    /// A finished prompt pass: the cache after it and the logits of its last position.
    struct PromptPass {
        var prompt: [Int32]
        var steering: Steering?
        var cache: KVCache
        var logits: [Float]
    }

    /// A sequence's prompt pass, alone, and its first token (nil when it ended at once): how
    /// every sequence starts, single or batched. When `memo` holds the pass of the same prompt
    /// and steering (K samples of one prompt come in a row) its cache is copied instead: the
    /// pass is a function of prompt and steering only, so the copy is exactly what the pass
    /// would give.
    func begin(_ r: GenerationRequest, memo: inout PromptPass?) throws -> (cache: KVCache, seq: SequenceState, next: Int32?, computed: Bool) {
        let capacity = r.prompt.count + r.maxTokens + 1
        let cache: KVCache, logits: [Float], seconds: Double, computed: Bool
        if let m = memo, m.prompt == r.prompt, m.steering == r.steering, m.cache.capacity >= capacity {
            (cache, logits, seconds, computed) = (m.cache, m.logits, 0, false)
        } else {
            var c = model.makeCache(capacity: capacity)
            let t0 = Date()
            logits = try model.forward(r.prompt, cache: &c, steering: r.steering)
            (cache, seconds, computed) = (c, Date().timeIntervalSince(t0), true)
            memo = PromptPass(prompt: r.prompt, steering: r.steering, cache: c, logits: logits)
        }
        var seq = SequenceState(r, promptSeconds: seconds)
        let next = seq.accept(logits, generator: self)
        return (cache, seq, next, computed)
    }

    /// Runs `requests` with up to `batchSize` sequences decoding together (continuous
    /// batching): each joins with its own prompt pass, then every step feeds one token of every
    /// running sequence through the model at once (`LlamaModel.forward(batch:)`), and a
    /// sequence that finishes leaves at once so the next queued one takes its place. Each
    /// sequence has its own cache, sampler (and seed), steering and stop condition, and gets
    /// exactly the tokens `generate(prompt:…)` gives it alone. `onResult` sees each request's
    /// index and generation as it finishes (not in request order).
    public func generate(_ requests: [GenerationRequest], batchSize: Int,
                         progress: (BatchProgress) -> Void = { _ in },
                         onResult: (Int, Generation) throws -> Void) throws {
        precondition(batchSize >= 1)
        var queue = requests.indices.makeIterator()
        var running: [(index: Int, seq: SequenceState, next: Int32)] = []
        var caches: [KVCache] = []
        var stats = BatchProgress(total: requests.count)
        var memo: PromptPass? = nil
        let started = Date()
        while true {
            // Join: a prompt pass per new sequence, alone, as `generate(prompt:)` does it (or a
            // copy of the previous one when the prompt repeats).
            while running.count < batchSize, let i = queue.next() {
                let (cache, seq, first, computed) = try begin(requests[i], memo: &memo)
                if computed { stats.promptTokens += requests[i].prompt.count } else { stats.promptTokensReused += requests[i].prompt.count }
                if let next = first {
                    running.append((i, seq, next)); caches.append(cache)
                } else {
                    stats.finished += 1
                    stats.finishedTokens += seq.tokens.count
                    try onResult(i, seq.result)
                }
            }
            if running.isEmpty { break }
            for j in running.indices { running[j].seq.rewind(&caches[j]) }
            let t0 = Date()
            let outs = try model.forward(batch: running.map { [$0.next] }, caches: &caches, steering: running.map { requests[$0.index].steering })
            let dt = Date().timeIntervalSince(t0)
            stats.generatedTokens += running.count
            stats.decodeSeconds += dt
            var keep: [Int] = []
            for j in running.indices {
                running[j].seq.decodeSeconds += dt
                if let next = running[j].seq.accept(outs[j], generator: self) {
                    running[j].next = next
                    keep.append(j)
                } else {
                    stats.finished += 1
                    stats.finishedTokens += running[j].seq.tokens.count
                    try onResult(running[j].index, running[j].seq.result)
                }
            }
            if keep.count < running.count {
                running = keep.map { running[$0] }
                caches = keep.map { caches[$0] }
            }
            stats.running = running.count
            stats.runningTokens = running.reduce(0) { $0 + $1.seq.tokens.count }
            stats.seconds = Date().timeIntervalSince(started)
            progress(stats)
        }
    }
}

/// One generation request for `Generator.generate(_:batchSize:…)`.
public struct GenerationRequest: Sendable {
    public var prompt: [Int32]
    public var maxTokens: Int
    public var sampler: SamplerSettings
    public var stopTexts: [String]
    public var steering: Steering?
    public var ignoreEnd: Bool
    public var rewrite: TextRewrite?

    public init(prompt: [Int32], maxTokens: Int, sampler: SamplerSettings = SamplerSettings(), stopTexts: [String] = [],
                steering: Steering? = nil, ignoreEnd: Bool = false, rewrite: TextRewrite? = nil) {
        self.prompt = prompt; self.maxTokens = maxTokens; self.sampler = sampler; self.stopTexts = stopTexts
        self.steering = steering; self.ignoreEnd = ignoreEnd; self.rewrite = rewrite
    }
}

/// Text the sequence must not write as is: when its text comes to hold `target`, the tokens
/// from the one where `target` starts are taken back (the cache forgets them) and the text
/// before `target` followed by `replacement` is fed instead, and generation goes on from there
/// in the same sequence; up to `times` times, after which `target` is ordinary text. A rewrite
/// happens only while the fed tokens and one more fit in `maxTokens` (they count in it).
/// SafeChain's MoreThink is `TextRewrite(target: "</think>", replacement: " Wait,", times: N)`.
public struct TextRewrite: Sendable, Equatable {
    public var target: String
    public var replacement: String
    public var times: Int
    public init(target: String, replacement: String, times: Int) {
        self.target = target; self.replacement = replacement; self.times = times
    }
}

/// Where a batched run stands.
public struct BatchProgress: Sendable {
    public var total: Int
    public var finished = 0
    public var running = 0
    /// Prompt tokens run through the model, and those whose pass was copied from the same
    /// prompt's (not counted in `promptTokens`).
    public var promptTokens = 0
    public var promptTokensReused = 0
    public var generatedTokens = 0
    /// Tokens of the sequences that have finished, and so far of those running.
    public var finishedTokens = 0
    public var runningTokens = 0
    /// Wall time in the batched decode steps (prompt passes excluded) and in all.
    public var decodeSeconds = 0.0
    public var seconds = 0.0
    public init(total: Int) { self.total = total }

    /// Tokens per second over the whole run so far (prompt passes included).
    public var tokensPerSecond: Double { Double(generatedTokens) / max(seconds, 1e-9) }

    /// Seconds left: the tokens still to come over the rate so far. A sequence is expected to
    /// be as long as the finished ones were on average, or as the running ones already are if
    /// that is longer (the first to finish are the short ones), at most `maxTokens`, which is
    /// also the guess before any has finished; the running ones' tokens are already made.
    public func eta(maxTokens: Int) -> Double? {
        let rate = tokensPerSecond
        guard rate > 0 else { return nil }
        let done = finished > 0 ? Double(finishedTokens) / Double(finished) : Double(maxTokens)
        let sofar = running > 0 ? Double(runningTokens) / Double(running) : 0
        let per = min(Double(maxTokens), max(done, sofar))
        return max(0, Double(total - finished) * per - Double(runningTokens)) / rate
    }
}

/// A sequence being generated: its sampler, tokens and text so far, and why it stopped. The
/// one place that decides what a step's logits mean, for single and batched generation alike.
struct SequenceState {
    let request: GenerationRequest
    var sampler: Sampler
    var history: [Int32]
    var tokens: [Int32] = []
    var text = ""
    var reason: StopReason? = nil
    /// Tokens a rewrite feeds before sampling resumes, how many rewrites happened, and the
    /// cache length to go back to before the next pass (set by a rewrite).
    var forced: [Int32] = []
    var rewrites = 0
    var rewindTo: Int? = nil
    let promptSeconds: Double
    var decodeSeconds = 0.0
    let started = Date()

    init(_ r: GenerationRequest, promptSeconds: Double) {
        request = r
        sampler = Sampler(r.sampler)
        history = r.prompt
        self.promptSeconds = promptSeconds
    }

    /// Takes the logits after the last fed token: returns the next token to feed, or nil when
    /// the sequence has ended (end token, stop text, or length).
    mutating func accept(_ logits: [Float], generator g: Generator) -> Int32? {
        guard reason == nil else { return nil }
        if tokens.count >= request.maxTokens { reason = .length; return nil }
        if !forced.isEmpty { return feed(forced.removeFirst(), generator: g) }
        let next = sampler.next(logits, history: history[...])
        if !request.ignoreEnd && g.endTokens.contains(next) { reason = .endOfGeneration; return nil }
        tokens.append(next)
        history.append(next)
        text = g.tokenizer.decode(tokens)
        if let rw = request.rewrite, rewrites < rw.times, let hit = text.range(of: rw.target) {
            // Back to the last token boundary before the target; the text between it and the
            // target, then the replacement, are fed as tokens.
            let kept = text[..<hit.lowerBound].unicodeScalars
            var b = tokens.count - 1
            var head = g.tokenizer.decode(Array(tokens[..<b])).unicodeScalars
            while b > 0 && !kept.starts(with: head) {
                b -= 1
                head = g.tokenizer.decode(Array(tokens[..<b])).unicodeScalars
            }
            let bridge = String(String.UnicodeScalarView(kept.dropFirst(head.count))) + rw.replacement
            let fed = g.tokenizer.encode(bridge, addSpecial: false, parseSpecial: false)
            if !fed.isEmpty && b + fed.count < request.maxTokens {
                rewrites += 1
                rewindTo = request.prompt.count + b
                tokens.removeLast(tokens.count - b)
                history = request.prompt + tokens
                forced = Array(fed.dropFirst())
                return feed(fed[0], generator: g)
            }
        }
        if let stop = request.stopTexts.first(where: { text.contains($0) }) {
            text = String(text[..<text.range(of: stop)!.lowerBound])
            reason = .stopText
            return nil
        }
        if tokens.count == request.maxTokens { reason = .length; return nil }
        return next
    }

    /// A token chosen for the sequence rather than sampled.
    private mutating func feed(_ t: Int32, generator g: Generator) -> Int32 {
        tokens.append(t)
        history.append(t)
        text = g.tokenizer.decode(tokens)
        return t
    }

    /// Makes `cache` forget what a rewrite took back; before the next pass.
    mutating func rewind(_ cache: inout KVCache) {
        if let p = rewindTo { cache.truncate(to: p); rewindTo = nil }
    }

    mutating func stop(_ r: StopReason) { if reason == nil { reason = r } }

    var result: Generation {
        Generation(promptTokens: request.prompt, tokens: tokens, text: text, stopReason: reason ?? .length,
                   promptSeconds: promptSeconds, decodeSeconds: decodeSeconds > 0 ? decodeSeconds : Date().timeIntervalSince(started),
                   rewrites: rewrites)
    }
}
