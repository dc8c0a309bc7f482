import Foundation
import Testing
@testable import VitreousModel
import VitreousTensor

/// Everything one forward pass returns, as bit patterns: "identical" means every bit.
private struct PassBits: Equatable {
    var parts: [String: [UInt32]] = [:]

    init(_ output: EncoderOutput) throws {
        func add(_ name: String, _ tensor: Tensor?) throws {
            if let tensor { parts[name] = try tensor.toArray().map(\.bitPattern) }
        }
        try add("tokens", output.tokens)
        try add("cls attention", output.clsAttention)
        try add("test-time registers", output.testTimeRegisters)
        for (layer, state) in (output.hiddenStates ?? []).enumerated() { try add("hidden \(layer)", state) }
        for (layer, norms) in (output.tokenNorms ?? []).enumerated() {
            try add("norms \(layer)", norms.norms)
            try add("norm stats \(layer)", norms.statistics)
        }
        for (block, activations) in output.mlpActivations { try add("mlp \(block)", activations) }
    }

    /// The parts that differ, for the failure message.
    func differences(from other: PassBits) -> [String] {
        Set(parts.keys).union(other.parts.keys).sorted().filter { parts[$0] != other.parts[$0] }
    }
}

@Suite("Concurrency")
struct ConcurrencyTests {
    static let threads = 8

    /// Thread `i`'s job: its own image size (so position tables are resampled concurrently), batch and options.
    struct Job: Sendable {
        let input: Tensor
        let options: EncoderOptions
    }

    static func jobs(config: ViTConfig, device: Device, seed: UInt64) throws -> [Job] {
        var random = SplitMix64(seed: seed)
        return try (0..<threads).map { index in
            let (rows, columns, batch) = (2 + index % 3, 3 + index % 4, 1 + index % 2)
            let count = batch * 3 * rows * 14 * columns * 14
            let values = random.normal(count)
            var options = EncoderOptions(hiddenStates: index % 2 == 0, tokenNorms: true, clsAttention: true)
            if index % 4 == 1 { options.testTimeRegisters = TestTimeRegisters(neurons: [1: [3, 17]], count: 1) }
            if index % 4 == 3 { options.mlpActivationLayers = [0, 2] }
            return Job(input: try Tensor(values, shape: [batch, 3, rows * 14, columns * 14], on: device),
                       options: options)
        }
    }

    @Test("8 threads sharing one backend and one model give results bit-identical to one thread",
          arguments: encoderTestDevices)
    func sharedModel(device: Device) throws {
        let config = ViTConfig(hiddenSize: 64, depth: 3, heads: 4, mlpHiddenSize: 256, registerCount: 4,
                               positionGrid: 4)
        let encoder = ViTEncoder(weights: try ViTHostWeights.random(config: config, seed: 11).tensors(on: device))
        let seed = UInt64.random(in: 0...UInt64.max)
        let jobs = try Self.jobs(config: config, device: device, seed: seed)
        let expected = try jobs.map { try PassBits(encoder.encode($0.input, options: $0.options)) }

        // A fresh encoder too, so the position-table cache is filled by racing threads, not warmed up above.
        let fresh = ViTEncoder(weights: encoder.weights)
        let results = ThreadResults(count: Self.threads)
        let rounds = 3
        let finished = DispatchGroup()
        for index in 0..<Self.threads {
            finished.enter()
            let thread = Thread {
                defer { finished.leave() }
                for round in 0..<rounds {
                    do {
                        let model = round % 2 == 0 ? fresh : encoder
                        let bits = try PassBits(model.encode(jobs[index].input, options: jobs[index].options))
                        results.record(index, bits == expected[index]
                            ? nil : "round \(round): \(bits.differences(from: expected[index]))")
                    } catch {
                        results.record(index, "round \(round): \(error)")
                    }
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        finished.wait()
        let failures = results.failures
        #expect(failures.isEmpty, "\(device), seed \(seed): \(failures)")
        #expect(results.passes == Self.threads * rounds)
    }
}

/// What the threads report, behind a lock.
private final class ThreadResults: @unchecked Sendable {  // `failures` and `passes` behind `lock`
    private let lock = NSLock()
    private var failed: [String] = []
    private var passed = 0

    init(count: Int) {}

    func record(_ thread: Int, _ failure: String?) {
        lock.withLock {
            if let failure { failed.append("thread \(thread) \(failure)") } else { passed += 1 }
        }
    }

    var failures: [String] { lock.withLock { failed } }
    var passes: Int { lock.withLock { passed } }
}
