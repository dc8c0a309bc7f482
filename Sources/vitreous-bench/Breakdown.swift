import Foundation
import VitreousModel
import VitreousTensor

/// Where the time of one forward pass goes: the real pass, each of its steps timed through the encoder's trace
/// (waiting for the device before and after each), the time per pass being the median over the sampled passes,
/// against the measured end-to-end time of an untraced pass (the difference is what the steps cost together
/// beyond their sum: launches overlapping, allocation, cache effects — and the trace's own waits).
struct Breakdown {
    let device: Device
    let config: ViTConfig
    let size: Int
    let batch: Int
    let samples: Int
    var precision: Precision = .fp32
    /// The options of the pass: none, or what repair asks of it (``EncoderBenchmarks/repairOptions(for:)``).
    var options = EncoderOptions()

    struct Row {
        let name: String
        let callsPerPass: Int
        let milliseconds: Double
    }

    func run() throws -> (rows: [Row], total: Double) {
        let weights = try ViTHostWeights.random(config: config, seed: 1).tensors(on: device, precision: precision)
        let encoder = ViTEncoder(weights: weights)
        let images = try Tensor(benchmarkValues(batch * 3 * size * size, seed: 1), shape: [batch, 3, size, size],
                                on: device)
        let timer = StepTimer(device: device)
        for _ in 0..<2 { _ = try encoder.encode(images, options: options, trace: timer) }
        var passes: [[EncoderStep: (calls: Int, seconds: Double)]] = []
        for _ in 0..<max(samples, 1) {
            timer.reset()
            _ = try encoder.encode(images, options: options, trace: timer)
            passes.append(timer.steps)
        }
        let rows = EncoderStep.allCases.compactMap { step -> Row? in
            guard let calls = passes[0][step]?.calls else { return nil }
            return Row(name: step.rawValue, callsPerPass: calls,
                       milliseconds: median(passes.map { $0[step]?.seconds ?? 0 }) * 1000)
        }
        let total = try measure(on: device, samples: samples, warmup: 2) {
            _ = try encoder.encode(images, options: options).tokens
        }
        return (rows, total.median * 1000)
    }

    static func render(_ rows: [Row], total: Double, title: String) -> String {
        func line(_ name: String, _ calls: String, _ ms: Double, _ share: Double) -> String {
            name.padding(toLength: 44, withPad: " ", startingAt: 0) + calls.leftPadded(6)
                + String(format: "%10.2f %6.1f %%", ms, share)
        }
        var lines = [title, "  " + "operation".padding(toLength: 44, withPad: " ", startingAt: 0) + "calls".leftPadded(6)
            + "   ms/pass   share"]
        for row in rows {
            lines.append("  " + line(row.name, String(row.callsPerPass), row.milliseconds, 100 * row.milliseconds / total))
        }
        let sum = rows.reduce(0) { $0 + $1.milliseconds }
        lines.append("  " + line("sum of the parts", "", sum, 100 * sum / total))
        lines.append("  " + line("measured forward pass", "", total, 100))
        return lines.joined(separator: "\n")
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

/// Times each step of a traced pass, waiting for the device before and after it so the time is the step's own.
private final class StepTimer: EncoderTrace, @unchecked Sendable {  // `steps` behind `lock`
    let device: Device
    private let lock = NSLock()
    private var recorded: [EncoderStep: (calls: Int, seconds: Double)] = [:]

    init(device: Device) { self.device = device }

    var steps: [EncoderStep: (calls: Int, seconds: Double)] { lock.withLock { recorded } }
    func reset() { lock.withLock { recorded = [:] } }

    func run<T>(_ step: EncoderStep, block: Int?, _ body: () throws -> T) throws -> T {
        try device.synchronize()
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        try device.synchronize()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.withLock {
            let previous = recorded[step] ?? (0, 0)
            recorded[step] = (previous.calls + 1, previous.seconds + seconds)
        }
        return result
    }
}
