import CVitreousCPU
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import VitreousTensor

/// `parallelFor` on CVitreousCPU's worker pool (pool.c): every index of every section runs exactly once, in
/// back-to-back sections (workers spinning), after the workers have gone to sleep, with sections nested in a
/// task, and with several threads' sections at once (all but one of them refused by the pool and run by
/// Dispatch instead).
@Suite("CPU worker pool")
struct CPUParallelTests {
    /// Runs `parallelFor(count, grain:)` and checks that each index ran exactly once.
    private func expectEachIndexOnce(_ count: Int, grain: Int, _ context: String) {
        let visits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: count)
        for index in 0..<count { (visits + index).initialize(to: Atomic(0)) }
        defer {
            _ = visits.deinitialize(count: count)
            visits.deallocate()
        }
        let shared = SharedCounters(base: visits)
        parallelFor(count, grain: grain) { range in
            for index in range { shared.base[index].add(1, ordering: .relaxed) }
        }
        let wrong = (0..<count).filter { visits[$0].load(ordering: .relaxed) != 1 }
        #expect(wrong.isEmpty, "\(context): indices not run exactly once: \(wrong.prefix(8))")
    }

    @Test("every index once over many back-to-back sections of every size")
    func backToBack() {
        for round in 0..<2_000 {
            let count = 1 + round % 37
            expectEachIndexOnce(count, grain: 1 + round % 3, "round \(round), \(count) items")
        }
        #expect(vk_pool_workers() == hostThreadCount - 1 || hostThreadCount == 1)
    }

    @Test("vk_pool_run: every task of sections of 1 to 300 tasks once, back to back; too many tasks refused")
    func poolSections() {
        let most = 300
        let visits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: most)
        for index in 0..<most { (visits + index).initialize(to: Atomic(0)) }
        defer {
            _ = visits.deinitialize(count: most)
            visits.deallocate()
        }
        var wrong: [String] = []
        // Sections of different sizes straight after each other: a worker still finishing its claim on one must
        // never claim a task of the next with the old section's count.
        for round in 0..<3_000 {
            let tasks = 1 + (round * 7919) % most
            for index in 0..<most { visits[index].store(0, ordering: .relaxed) }
            var status: Int32
            repeat {  // −1 while another test's section holds the pool
                status = vk_pool_run(Int32(clamping: hostThreadCount), tasks, { context, task in
                    context?.assumingMemoryBound(to: Atomic<Int>.self)[task].add(1, ordering: .relaxed)
                }, visits)
            } while status == -1
            let counts = (0..<most).map { visits[$0].load(ordering: .relaxed) }
            if status != 0 || counts.prefix(tasks).contains(where: { $0 != 1 }) || counts[tasks...].contains(where: { $0 != 0 }) {
                wrong.append("round \(round), \(tasks) tasks: status \(status), counts \(counts.prefix(tasks + 2).suffix(8))")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(vk_pool_run(2, 65_536, { _, _ in }, nil) == -1)
    }

    @Test("sections after the workers have fallen asleep")
    func afterSleep() {
        for round in 0..<5 {
            Thread.sleep(forTimeInterval: 0.02)  // ten times the 2 ms spin
            expectEachIndexOnce(1_000, grain: 1, "round \(round) after a sleep")
        }
    }

    @Test("a section nested in a task runs too")
    func nested() {
        let total = Atomic<Int>(0)
        parallelFor(8, grain: 1) { outer in
            for _ in outer {
                parallelFor(100, grain: 1) { inner in total.add(inner.count, ordering: .relaxed) }
            }
        }
        #expect(total.load(ordering: .relaxed) == 800)
    }

    @Test("VITREOUS_CPU_SPIN_US values: microseconds parse, anything else is a one-line error naming it")
    func spinVariable() throws {
        #expect(try CPUWorkerSpin.parse(nil).get() == CPUWorkerSpin.defaultMicroseconds)
        #expect(try CPUWorkerSpin.parse("").get() == CPUWorkerSpin.defaultMicroseconds)
        #expect(try CPUWorkerSpin.parse("0").get() == 0)
        #expect(try CPUWorkerSpin.parse("150").get() == 150)
        for bad in ["abc", "-1", "1.5", "2000000", " 10"] {
            guard case .failure(let error) = CPUWorkerSpin.parse(bad) else {
                Issue.record("\(bad) was accepted")
                continue
            }
            #expect("\(error)".contains("VITREOUS_CPU_SPIN_US=\(bad)"), "\(error)")
        }
    }

    @Test("with no spin, every section still runs to completion")
    func noSpin() {
        vk_pool_set_spin(0)
        defer { vk_pool_set_spin(Int64(CPUWorkerSpin.defaultMicroseconds)) }
        for round in 0..<200 { expectEachIndexOnce(2 + round % 9, grain: 1, "round \(round) without spin") }
    }

    @Test("several threads' sections at once")
    func concurrentCallers() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 6) { caller in
            for round in 0..<300 {
                let count = 3 + (caller + round) % 50
                let sum = Atomic<Int>(0)
                parallelFor(count, grain: 1) { range in
                    for index in range { sum.add(index, ordering: .relaxed) }
                }
                if sum.load(ordering: .relaxed) != count * (count - 1) / 2 { failures.add(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }
}

/// Counters the tasks of one section share (each an atomic).
private struct SharedCounters: @unchecked Sendable {  // every access is atomic
    let base: UnsafeMutablePointer<Atomic<Int>>
}
