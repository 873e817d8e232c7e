import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Model

@Suite struct WorkerPoolTests {
    /// Every part runs exactly once and the call returns after all of them, for part counts
    /// that grow the pool and reuse it, with pauses long enough for the workers to fall asleep.
    @Test func everyPartRunsOnce() throws {
        for (round, parts) in [2, 3, 1, 5, 2, 4].enumerated() {
            let counts = Mutex([Int](repeating: 0, count: parts))
            WorkerPool.shared.run(parts: parts) { p in counts.withLock { $0[p] += 1 } }
            #expect(counts.withLock { $0 } == [Int](repeating: 1, count: parts), "round \(round)")
            if round % 2 == 1 { usleep(UInt32(WorkerPool.spinSeconds * 3e6)) }
        }
    }

    /// Calls from several threads at once, and a part that itself calls `run`, finish with
    /// every part run once (the pool runs one job at a time; others run their parts in place).
    @Test func concurrentAndNestedCalls() throws {
        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 6) { caller in
            for _ in 0..<200 {
                WorkerPool.shared.run(parts: 3) { _ in
                    total.add(1, ordering: .relaxed)
                    if caller == 0 { WorkerPool.shared.run(parts: 2) { _ in total.add(1, ordering: .relaxed) } }
                }
            }
        }
        #expect(total.load(ordering: .relaxed) == 5 * 200 * 3 + 200 * 3 * 3)
    }
}
