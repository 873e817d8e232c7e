import Corpus
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import TestSupport
@testable import Recipes

/// A chat-completions server on loopback, written for the tests: for each request it asks
/// `behave` (the request body, this body's attempt number) what to answer — a status, a body,
/// and a delay before answering. It records how many requests were in flight at most.
final class LoopbackJudgeServer: @unchecked Sendable {
    struct Reply { var status = 200; var body = ""; var delay: TimeInterval = 0 }
    let port: UInt16
    private let fd: Int32
    private let behave: @Sendable (String, Int) -> Reply
    private let state = Mutex((attempts: [String: Int](), inFlight: 0, maxInFlight: 0, requests: 0))

    init(_ behave: @escaping @Sendable (String, Int) -> Reply) throws {
        self.behave = behave
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else { throw RecipeError("cannot listen on loopback") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        self.fd = fd
        let t = Thread { [self] in self.acceptLoop() }
        t.start()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }
    var maxInFlight: Int { state.withLock { $0.maxInFlight } }
    var requests: Int { state.withLock { $0.requests } }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            Thread { [self] in self.serve(c) }.start()
        }
    }

    private func serve(_ c: Int32) {
        defer { close(c) }
        while true {
            // Read the head, then Content-Length bytes of body.
            var data = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 65536)
            var headEnd: Int? = nil
            while headEnd == nil {
                let n = read(c, &buf, buf.count)
                if n <= 0 { return }
                data += buf[0..<n]
                if let r = String(decoding: data, as: UTF8.self).range(of: "\r\n\r\n") { headEnd = String(decoding: data, as: UTF8.self).utf8.distance(from: String(decoding: data, as: UTF8.self).startIndex, to: r.upperBound) }
            }
            let head = String(decoding: data[0..<headEnd!], as: UTF8.self)
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            while data.count < headEnd! + length {
                let n = read(c, &buf, buf.count)
                if n <= 0 { return }
                data += buf[0..<n]
            }
            let body = String(decoding: data[headEnd!..<(headEnd! + length)], as: UTF8.self)
            let attempt = state.withLock { s -> Int in
                s.requests += 1; s.inFlight += 1; s.maxInFlight = max(s.maxInFlight, s.inFlight)
                s.attempts[body, default: 0] += 1
                return s.attempts[body]!
            }
            let reply = behave(body, attempt)
            if reply.delay > 0 { Thread.sleep(forTimeInterval: reply.delay) }
            state.withLock { $0.inFlight -= 1 }
            // One request per connection: a slow answer never holds up another request.
            let text = "HTTP/1.1 \(reply.status) X\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: \(reply.body.utf8.count)\r\n\r\n\(reply.body)"
            let bytes = Array(text.utf8)
            _ = send(c, bytes, bytes.count, Int32(MSG_NOSIGNAL))
            return
        }
    }

    /// A chat-completions body whose message is `content`.
    static func completion(_ content: String) -> String {
        JSONSerializer.string(.object(JSONObject([("choices", .array([.object(JSONObject([("message", .object(JSONObject([("role", .string("assistant")), ("content", .string(content))])))]))]))])))
    }
}

@Suite struct JudgeTests {
    static func records(_ answers: [String]) -> [Example] {
        answers.enumerated().map { i, a in
            var e = Example()
            e.id = "r\(i)"; e.question = "Q\(i)"; e.answer = a; e.label = "vanilla_harmful"
            return e
        }
    }

    @Test func parsesLlamaGuardAnswers() {
        #expect(HTTPJudge.parse("safe")?.safe == true)
        #expect(HTTPJudge.parse("  Safe \n")?.safe == true)
        #expect(HTTPJudge.parse("unsafe\nS2") == Judgement(safe: false, category: "S2", reason: "judge: unsafe S2"))
        #expect(HTTPJudge.parse("I think it is fine") == nil)
        #expect(HTTPJudge.parse("") == nil)
    }

    /// The server answers by keyword in the response: "harm" → unsafe S1, else safe; at most
    /// `concurrency` requests in flight.
    @Test func judgesThroughTheServerWithinTheConcurrencyLimit() throws {
        let server = try LoopbackJudgeServer { body, _ in
            LoopbackJudgeServer.Reply(body: LoopbackJudgeServer.completion(body.contains("harm") ? "unsafe\nS1" : "safe"), delay: 0.05)
        }
        defer { server.stop() }
        var judge = HTTPJudge(url: server.url, model: "guard")
        judge.concurrency = 3
        let answers = (0..<12).map { $0 % 3 == 0 ? "here is harm" : "I won't" }
        let js = try judge.judge(Self.records(answers)) { _ in }
        #expect(js.map(\.safe) == answers.map { !$0.contains("harm") })
        #expect(js[0].category == "S1")
        #expect(server.maxInFlight <= 3 && server.maxInFlight >= 2, "max in flight \(server.maxInFlight)")
    }

    /// 500s, garbage and a wrong shape are retried; a request that succeeds on its third try
    /// is judged; one that never succeeds, or only answers after the timeout, is failed — never safe.
    @Test func faultsAreRetriedThenFailedNeverSafe() throws {
        let server = try LoopbackJudgeServer { body, attempt in
            if body.contains("flaky") { return attempt < 3 ? .init(status: 500, body: "oops") : .init(body: LoopbackJudgeServer.completion("safe")) }
            if body.contains("down") { return .init(status: 503, body: "") }
            if body.contains("garbage") { return .init(body: "{not json") }
            if body.contains("shape") { return .init(body: #"{"choices": []}"#) }
            if body.contains("chatty") { return .init(body: LoopbackJudgeServer.completion("Sure, looks fine to me")) }
            if body.contains("slow") { return .init(body: LoopbackJudgeServer.completion("safe"), delay: 4) }
            return .init(body: LoopbackJudgeServer.completion("safe"))
        }
        defer { server.stop() }
        var judge = HTTPJudge(url: server.url, model: "guard")
        judge.retries = 2
        judge.timeout = 1.5   // generous: on a loaded CI machine a healthy answer can take a while
        judge.backoff = 0.01
        let js = try judge.judge(Self.records(["flaky", "down", "garbage", "shape", "chatty", "fine"])) { _ in }
        #expect(js.map(\.safe) == [true, nil, nil, nil, nil, true], "\(js)")
        #expect(js[1].reason.contains("3 tries"), "\(js[1].reason)")
        #expect(js[3].reason.contains("not a chat-completions response") || js[3].reason.contains("3 tries"))
        #expect(js[2].failed)
        // An answer that comes after the timeout, on every try, is a failed judgement.
        let slow = try judge.judge(Self.records(["slow"])) { _ in }
        #expect(slow[0].failed, "\(slow)")
    }

    /// A failed judgement reaches selection as `safety.judge_failed`, not as safe.
    @Test func failedJudgementsAreDroppedBySelection() throws {
        let dir = try TempDir()
        let server = try LoopbackJudgeServer { _, _ in .init(status: 500, body: "") }
        defer { server.stop() }
        var judge = HTTPJudge(url: server.url, model: "guard")
        judge.retries = 1; judge.backoff = 0.01
        let input = try dir.write("in.jsonl", lines: Self.records(["a", "b"]).map(\.jsonString))
        let judged = try JSONLWriter(path: dir.path + "/judged.jsonl")
        let counts = try JudgeJob.run(judge, inputs: [input], output: judged)
        try judged.finish()
        #expect(counts[0].kept == 2)
        let out = try JSONLWriter(path: dir.path + "/out.jsonl"), rej = try JSONLWriter(path: dir.path + "/rej.jsonl")
        let sel = try SafetySelectionJob().run(inputs: [dir.path + "/judged.jsonl"], output: out, rejects: rej)
        try out.finish(); try rej.finish()
        #expect(sel.last!.kept == 0 && sel.last!.dropped["safety.judge_failed"] == 2)
    }

    @Test func commandJudge() throws {
        let dir = try TempDir()
        let script = try dir.write("judge.py", lines: [
            "import json, sys",
            "for line in sys.stdin:",
            "    r = json.loads(line)",
            "    if r['id'] == 'r2': continue",
            "    print(json.dumps({'id': r['id'], 'safe': 'harm' not in r['answer'], 'reason': 'script'}))",
        ])
        let js = try CommandJudge(command: ["python3", script]).judge(Self.records(["fine", "harm", "skipped"])) { _ in }
        #expect(js.map(\.safe) == [true, false, nil])
        #expect(js[2].reason.contains("no verdict"))
        let failing = try dir.write("fail.sh", lines: ["echo broken >&2", "exit 3"])
        // A judge that exits without reading: far more input than a pipe holds, so writing hits
        // EPIPE (no SIGPIPE: the test process would die) and the exit status is the error.
        #expect(throws: RecipeError.self) {
            _ = try CommandJudge(command: ["sh", failing]).judge(Self.records(Array(repeating: String(repeating: "x", count: 200), count: 2000))) { _ in }
        }
    }
}
