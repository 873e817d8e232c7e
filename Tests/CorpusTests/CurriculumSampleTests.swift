import Foundation
import Testing
@testable import Corpus
import TestSupport

@Suite struct CurriculumTests {
    func variant(_ id: String, _ q: String, alpha: Double?, tokens: Int) -> String {
        var o = JSONObject([("id", .string(id)), ("question", .string(q)), ("reasoning", .string(String(repeating: "x", count: tokens)))])
        o["tokens"] = .object(JSONObject([("reasoning", .int(tokens))]))
        if let a = alpha { o["gen"] = .object(JSONObject([("steer", .object(JSONObject([("alpha", .double(a))])))])) }
        return JSONSerializer.string(.object(o))
    }

    @Test func stageEdges() {
        let j = CurriculumJob()
        #expect(j.stage(lenR: 1.0) == 0 && j.stage(lenR: 0.95) == 0 && j.stage(lenR: 0.9) == 0)
        #expect(j.stage(lenR: 0.85) == 1 && j.stage(lenR: 0.8) == 1 && j.stage(lenR: 0.71) == 2 && j.stage(lenR: 0.5) == 4)
        #expect(j.stage(lenR: 0.3) == 5 && j.stage(lenR: 1.2) == nil)
    }

    @Test func lenRStagesOrderAndDrops() throws {
        let dir = try TempDir()
        let input = try dir.write("v.jsonl", lines: [
            variant("q1/a-0.3", "q1", alpha: -0.3, tokens: 60), variant("q1/a0", "q1", alpha: 0, tokens: 100),
            variant("q1/a-0.1", "q1", alpha: -0.1, tokens: 85), variant("q1/a+0.1", "q1", alpha: 0.1, tokens: 120),
            variant("q2/a-0.5", "q2", alpha: -0.5, tokens: 40), variant("q2/plain", "q2", alpha: nil, tokens: 50),
            variant("q3/a-0.5", "q3", alpha: -0.5, tokens: 10),
        ])
        let out = try JSONLWriter(path: dir.path + "/out.jsonl"), rej = try JSONLWriter(path: dir.path + "/rej.jsonl")
        let counts = try CurriculumJob().run(inputs: [input], output: out, rejects: rej, workDir: dir.path)
        try out.finish(); try rej.finish()
        var got: [(String, Int, Double)] = []
        try LineReader(try openInput(dir.path + "/out.jsonl")).forEachLine {
            let e = try Example(bytes: $0.bytes)
            got.append((e.id!, e.stage!, e.lenRatio!))
        }
        #expect(got.map(\.0) == ["q1/a0", "q2/plain", "q1/a-0.1", "q2/a-0.5", "q1/a-0.3"])
        #expect(got.map(\.1) == [0, 0, 1, 1, 3])
        #expect(got.map(\.2) == [1.0, 1.0, 0.85, 0.8, 0.6])
        #expect(counts[1].dropped == ["curriculum.longer": 1, "curriculum.no_base": 1])
        #expect(counts[0].input == 7 && counts[1].balanced)
    }
}

@Suite struct SampleTests {
    @Test func exactCountSeededAndOrdered() throws {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", lines: (0..<200).map { #"{"id":"r\#($0)","question":"q\#($0)"}"# })
        func run(n: Int?, fraction: Double?, seed: UInt64) throws -> [String] {
            let out = try JSONLWriter(path: dir.path + "/o.jsonl"), rej = try JSONLWriter(path: dir.path + "/r.jsonl")
            let c = try SampleJob(count: n, fraction: fraction, seed: seed).run(inputs: [input], output: out, rejects: rej)
            try out.finish(); try rej.finish()
            #expect(c[1].balanced && c[1].input == 200)
            var ids: [String] = []
            try LineReader(try openInput(dir.path + "/o.jsonl")).forEachLine { ids.append(try Example(bytes: $0.bytes).id!) }
            return ids
        }
        let a = try run(n: 37, fraction: nil, seed: 1)
        #expect(a.count == 37)
        #expect(try run(n: 37, fraction: nil, seed: 1) == a)
        #expect(try run(n: 37, fraction: nil, seed: 2) != a)
        #expect(a == a.sorted { Int($0.dropFirst())! < Int($1.dropFirst())! })  // input order kept
        #expect(try run(n: 0, fraction: nil, seed: 1).isEmpty && run(n: 500, fraction: nil, seed: 1).count == 200)
        let f = try run(n: nil, fraction: 0.25, seed: 3).count
        #expect(f > 25 && f < 75)
    }
}
