import Corpus
import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// One judgement of a (prompt, response) pair: safe or not, or failed (the judge could not
/// say). A failed judgement is never taken as safe.
public struct Judgement: Sendable, Equatable {
    public var safe: Bool?
    public var category: String?
    public var reason: String
    public var failed: Bool { safe == nil }

    public init(safe: Bool?, category: String? = nil, reason: String) { self.safe = safe; self.category = category; self.reason = reason }
}

/// A safety judge: judges a batch of response records (each has `question` and `answer`/
/// `reasoning`). Returns one judgement per record, in order; throws only when it cannot run at
/// all (a command that does not start), never for one bad answer.
public protocol SafetyJudge {
    /// The name recorded in verdicts (`by`).
    var name: String { get }
    func judge(_ records: [Example], progress: (Int) -> Void) throws -> [Judgement]
}

/// The built-in judges as a `SafetyJudge` (see `RefusalJudgeStage`): refusal alone, or with
/// `compliance` the refusal and compliance detectors together (`builtin`).
public struct RefusalJudge: SafetyJudge {
    public var compliance: Bool
    public init(compliance: Bool = false) { self.compliance = compliance }
    public var name: String { compliance ? "builtin-judge" : RefusalJudgeStage.judgeName }
    public func judge(_ records: [Example], progress: (Int) -> Void) throws -> [Judgement] {
        var stage = RefusalJudgeStage(compliance: compliance)
        return try records.enumerated().map { i, r in
            var e = r
            _ = try stage.process(&e)
            progress(i + 1)
            let v = e["verdicts"]?.arrayValue?.last?.objectValue
            return Judgement(safe: v?["keep"]?.boolValue, reason: v?["reason"]?.stringValue ?? "")
        }
    }
}

/// An OpenAI-compatible chat-completions judge in the Llama Guard style: the conversation
/// (user prompt, assistant response) is sent to `POST {url}/chat/completions` with the model
/// name; the judge answers `safe`, or `unsafe` with a category on the next line. Each request
/// has a timeout and is retried (with a doubling pause) on a transport error, a non-2xx
/// status or an answer that is neither; after the last try the judgement is failed. At most
/// `concurrency` requests are in flight.
public struct HTTPJudge: SafetyJudge, Sendable {
    public var url: URL
    public var model: String
    public var apiKey: String?
    public var timeout: TimeInterval = 30
    public var retries = 3
    public var concurrency = 4
    public var backoff: TimeInterval = 0.25

    public init(url: URL, model: String) { self.url = url; self.model = model }
    public var name: String { "http:\(model)" }

    /// `safe` / `unsafe\nS2` (case and surrounding space ignored) → judgement; anything else nil.
    public static func parse(_ content: String) -> Judgement? {
        let lines = content.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first else { return nil }
        if first == "safe" { return Judgement(safe: true, reason: "judge: safe") }
        if first == "unsafe" || first.hasPrefix("unsafe ") || first.hasPrefix("unsafe,") {
            let cat = lines.count > 1 ? lines[1].uppercased() : nil
            return Judgement(safe: false, category: cat, reason: "judge: unsafe" + (cat.map { " \($0)" } ?? ""))
        }
        return nil
    }

    func body(_ r: Example) throws -> Data {
        let response = [r.answer, r.reasoning].compactMap { $0 }.first { !$0.isEmpty } ?? ""
        let doc = JSONValue.object(JSONObject([
            ("model", .string(model)), ("temperature", .int(0)), ("max_tokens", .int(20)),
            ("messages", .array([.object(JSONObject([("role", .string("user")), ("content", .string(r.question ?? ""))])),
                                 .object(JSONObject([("role", .string("assistant")), ("content", .string(response))]))])),
        ]))
        return Data(JSONSerializer.string(doc).utf8)
    }

    /// One request, synchronously: the judgement, or why it failed.
    func attempt(_ body: Data, session: URLSession) -> Result<Judgement, JudgeFailure> {
        var req = URLRequest(url: url.appendingPathComponent("chat/completions"), timeoutInterval: timeout)
        req.httpMethod = "POST"
        req.httpBody = body
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { req.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<Judgement, JudgeFailure>>(.failure(JudgeFailure("no answer")))
        let task = session.dataTask(with: req) { data, response, error in
            defer { done.signal() }
            let result: Result<Judgement, JudgeFailure>
            if let error { result = .failure(JudgeFailure("transport: \(error.localizedDescription)")) }
            else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) { result = .failure(JudgeFailure("HTTP \(http.statusCode)")) }
            else if let data, case .object(let o)? = try? JSONScanner.parse(data),
                    let content = o["choices"]?.arrayValue?.first?.objectValue?["message"]?.objectValue?["content"]?.stringValue {
                result = HTTPJudge.parse(content).map { .success($0) } ?? .failure(JudgeFailure("answer is neither safe nor unsafe: \(content.prefix(60))"))
            } else {
                result = .failure(JudgeFailure("not a chat-completions response"))
            }
            box.withLock { $0 = result }
        }
        task.resume()
        // The request's own timeout covers a server that never answers; this bound is a backstop.
        if done.wait(timeout: .now() + 2 * timeout + 10) == .timedOut { task.cancel(); return .failure(JudgeFailure("no answer within \(Int(2 * timeout + 10)) s")) }
        return box.withLock { $0 }
    }

    public func judge(_ records: [Example], progress: (Int) -> Void) throws -> [Judgement] {
        let bodies = try records.map(body)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.httpMaximumConnectionsPerHost = max(1, concurrency)
        let session = URLSession(configuration: config)
        defer { session.finishTasksAndInvalidate() }
        let results = Mutex([Judgement?](repeating: nil, count: records.count))
        let finished = Mutex(0)
        let queue = DispatchQueue(label: "cotforge.judge", attributes: .concurrent)
        let slots = DispatchSemaphore(value: max(1, concurrency))
        let group = DispatchGroup()
        for (i, b) in bodies.enumerated() {
            slots.wait()
            group.enter()
            queue.async {
                defer { slots.signal(); group.leave() }
                var last = JudgeFailure("not tried")
                var pause = backoff
                for tryIndex in 0...max(0, retries) {
                    switch attempt(b, session: session) {
                    case .success(let j):
                        results.withLock { $0[i] = j }
                        finished.withLock { $0 += 1 }
                        return
                    case .failure(let f): last = f
                    }
                    if tryIndex < retries { Thread.sleep(forTimeInterval: pause); pause *= 2 }
                }
                results.withLock { $0[i] = Judgement(safe: nil, reason: "judge failed after \(retries + 1) tries: \(last.message)") }
                finished.withLock { $0 += 1 }
            }
            progress(finished.withLock { $0 })
        }
        group.wait()
        progress(records.count)
        return results.withLock { $0.map { $0! } }
    }
}

struct JudgeFailure: Error, Sendable {
    var message: String
    init(_ m: String) { message = m }
}

/// Any command as a judge: it reads the records as JSON Lines on standard input and writes one
/// JSON object per line on standard output, `{"id": …, "safe": true|false, "category": …,
/// "reason": …}`. A record it gives no verdict for, or a line that is not one, is a failed
/// judgement; a command that exits non-zero is an error naming it and its standard error.
public struct CommandJudge: SafetyJudge {
    public var command: [String]
    public init(command: [String]) { self.command = command }
    public var name: String { "command:" + (command.first.map { ($0 as NSString).lastPathComponent } ?? "?") }

    public func judge(_ records: [Example], progress: (Int) -> Void) throws -> [Judgement] {
        guard !command.isEmpty else { throw RecipeError("the judge command is empty") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe; p.standardOutput = outPipe; p.standardError = errPipe
        do { try p.run() } catch { throw RecipeError("cannot run the judge command \(command.joined(separator: " ")): \(error.localizedDescription)") }
        // Write on another thread so a judge that answers as it reads cannot deadlock on full pipes.
        // A judge that exits without reading everything must not kill us with SIGPIPE: the write
        // then fails with EPIPE, and the exit status says what happened.
        signal(SIGPIPE, SIG_IGN)
        let input = records.map { $0.jsonString + "\n" }.joined()
        let writer = Thread {
            try? inPipe.fileHandleForWriting.write(contentsOf: Data(input.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        let errBox = Mutex(Data())
        let errReader = Thread { let d = errPipe.fileHandleForReading.readDataToEndOfFile(); errBox.withLock { $0 = d } }
        errReader.start()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while errReader.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        guard p.terminationStatus == 0 else {
            let tail = String(decoding: errBox.withLock { $0 }, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: "\n")
            throw RecipeError("the judge command \(command.joined(separator: " ")) exited with status \(p.terminationStatus)" + (tail.isEmpty ? "" : ": \(tail)"),
                              hint: "it must read JSON Lines on stdin and write {\"id\", \"safe\"} lines on stdout")
        }
        var byID: [String: Judgement] = [:]
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            guard case .object(let o)? = try? JSONScanner.parse(String(line)), let id = o["id"]?.stringValue, let safe = o["safe"]?.boolValue else { continue }
            byID[id] = Judgement(safe: safe, category: o["category"]?.stringValue, reason: o["reason"]?.stringValue ?? (safe ? "judge: safe" : "judge: unsafe"))
        }
        progress(records.count)
        return records.map { byID[$0.id ?? ""] ?? Judgement(safe: nil, reason: "the judge command gave no verdict for this record") }
    }
}

/// Runs a judge over record files: every record kept, with `{by, keep, reason, category?,
/// failed?, refused}` appended to `verdicts`. Counts as one stage (`judge`) that drops nothing.
public enum JudgeJob {
    public static func run(_ judge: any SafetyJudge, inputs: [String], output: JSONLWriter, progress: (Int, Int) -> Void = { _, _ in }) throws -> [StageCounts] {
        var records: [Example] = []
        for path in inputs { records += try RecipeBuild.readRecords(path) }
        let js = try judge.judge(records) { progress($0, records.count) }
        var c = StageCounts(name: "judge")
        for (r, j) in zip(records, js) {
            var e = r
            let text = [r.answer, r.reasoning].compactMap { $0 }.first { !$0.isEmpty } ?? ""
            var v = JSONObject([("by", .string(judge.name)), ("keep", .bool(j.safe ?? false)), ("reason", .string(j.reason)),
                                ("refused", .bool(RefusalDetector.match(text) != nil)), ("judge", .bool(true))])
            if let cat = j.category { v["category"] = .string(cat) }
            if j.failed { v["failed"] = .bool(true) }
            e["verdicts"] = .array((r["verdicts"]?.arrayValue ?? []) + [.object(v)])
            try output.write(e)
            c.keep()
        }
        return [c]
    }
}
