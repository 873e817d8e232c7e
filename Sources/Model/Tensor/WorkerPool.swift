import CSpin
import Dispatch
import Foundation
import Synchronization

/// Threads that run the parts of one job at a time, for the engine's products and attention
/// (`--threads`). A decode step is a few hundred products of ~10–200 µs each; waking a sleeping
/// thread takes ~100 µs here (GCD's `concurrentPerform` split of a 200 µs product ran no faster
/// than one thread), so a worker polls for its next part for `spinSeconds` after each one and
/// only then sleeps. Parts must write disjoint memory; which thread runs a part never changes
/// what it computes, so results do not depend on the thread count.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// How long an idle worker polls before it sleeps: longer than the serial stretches of a
    /// decode step (norms, sampling), short enough that a finished run leaves no core busy.
    static let spinSeconds = 0.002

    /// One helper thread. The dispatcher writes `body` and `part`, then moves `ticket`; the
    /// worker reads them after it sees the new ticket.
    final class Worker: @unchecked Sendable {
        let ticket = Atomic<Int>(0)
        let asleep = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
        var body: ((Int) -> Void)? = nil
        var part = 0
    }

    private let busy = Mutex<Bool>(false)
    /// Parts of the current job not yet finished by the workers.
    private let remaining = Atomic<Int>(0)
    /// Grown under `busy` only.
    private var workers: [Worker] = []

    /// Runs `body(0)`…`body(parts − 1)`, part 0 on the calling thread and the others on
    /// workers, and returns when all have finished. While another thread's job holds the pool
    /// (tests run concurrently; a part that itself calls `run`), the parts run here in order.
    func run(parts: Int, _ body: (Int) -> Void) {
        guard parts > 1 else {
            if parts == 1 { body(0) }
            return
        }
        let free = busy.withLock { held -> Bool in
            if held { return false }
            held = true
            return true
        }
        guard free else {
            for p in 0..<parts { body(p) }
            return
        }
        defer { busy.withLock { $0 = false } }
        while workers.count < parts - 1 { workers.append(start()) }
        withoutActuallyEscaping(body) { body in
            remaining.store(parts - 1, ordering: .relaxed)
            for (i, w) in workers[0..<(parts - 1)].enumerated() {
                w.body = body
                w.part = i + 1
                w.ticket.add(1, ordering: .sequentiallyConsistent)
                if w.asleep.exchange(false, ordering: .sequentiallyConsistent) { w.wake.signal() }
            }
            body(0)
            while remaining.load(ordering: .acquiring) > 0 { cotforge_spin_pause() }
            for w in workers[0..<(parts - 1)] { w.body = nil }
        }
    }

    /// Runs `body(start, count, scratch)` over `total` items cut into tiles of `tile` (the last
    /// one shorter), the tiles handed out in contiguous runs to up to `threads` parts, each part
    /// with `scratch` floats of its own. The tiles do not depend on `threads`, so neither does
    /// anything computed tile by tile.
    func runTiles(total: Int, tile: Int, threads: Int, scratch: Int = 0,
                  _ body: (_ start: Int, _ count: Int, _ scratch: UnsafeMutablePointer<Float>) -> Void) {
        let tiles = (total + tile - 1) / tile
        let parts = max(1, min(threads, tiles))
        run(parts: parts) { part in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratch))
            defer { buffer.deallocate() }
            for t in (tiles * part / parts)..<(tiles * (part + 1) / parts) {
                body(t * tile, min(tile, total - t * tile), buffer)
            }
        }
    }

    private func start() -> Worker {
        let w = Worker()
        let thread = Thread { [self] in self.loop(w) }
        thread.name = "cotforge-worker"
        thread.start()
        return w
    }

    private func loop(_ w: Worker) {
        var seen = 0
        while true {
            var t = w.ticket.load(ordering: .acquiring)
            if t == seen {
                let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(WorkerPool.spinSeconds * 1e9)
                var polls = 0
                while t == seen {
                    cotforge_spin_pause()
                    t = w.ticket.load(ordering: .acquiring)
                    polls &+= 1
                    if t == seen, polls & 63 == 0, DispatchTime.now().uptimeNanoseconds > deadline { break }
                }
                if t == seen {
                    // Sleep, unless a job came in between: the dispatcher moves the ticket and
                    // then takes `asleep`; one of the two sees the other's write.
                    w.asleep.store(true, ordering: .sequentiallyConsistent)
                    t = w.ticket.load(ordering: .sequentiallyConsistent)
                    if t == seen {
                        w.wake.wait()
                        continue
                    }
                    // The dispatcher took the flag and signals: consume it.
                    if !w.asleep.exchange(false, ordering: .sequentiallyConsistent) { w.wake.wait() }
                }
            }
            seen = t
            w.body!(w.part)
            remaining.subtract(1, ordering: .releasing)
        }
    }
}
