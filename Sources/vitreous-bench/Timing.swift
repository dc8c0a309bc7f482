import Foundation
import VitreousTensor

/// Median, min and max of one benchmark's samples, in seconds per operation.
struct TimingSummary: Codable {
    /// The package's one median (the mean of the two middle samples for an even count).
    let median: Double
    let min: Double
    let max: Double
    /// Operations timed together in one sample (short operations are batched so timer and queue
    /// overheads do not dominate).
    let operationsPerSample: Int
    let samples: Int
}

/// Times `body` on `device`: warm-up, then `samples` samples, each of enough operations to last
/// `minimumSampleSeconds`, waiting for the device at the end of each sample.
func measure(on device: Device, samples: Int, warmup: Int = 3, minimumSampleSeconds: Double = 0.02,
             _ body: () throws -> Void) throws -> TimingSummary {
    let backend = try backend(for: device)
    for _ in 0..<warmup { try body() }
    try backend.synchronize()
    var perSample = 1
    if minimumSampleSeconds > 0 {
        let probeStart = DispatchTime.now().uptimeNanoseconds
        try body()
        try backend.synchronize()
        let probe = Double(DispatchTime.now().uptimeNanoseconds - probeStart) / 1e9
        perSample = Swift.max(1, Int((minimumSampleSeconds / Swift.max(probe, 1e-7)).rounded(.up)))
    }
    var times: [Double] = []
    for _ in 0..<Swift.max(samples, 1) {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<perSample { try body() }
        try backend.synchronize()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(perSample))
    }
    times.sort()
    return TimingSummary(median: median(times), min: times[0], max: times[times.count - 1],
                         operationsPerSample: perSample, samples: times.count)
}

/// Deterministic normal-ish inputs for benchmarks (the values do not change the timing).
func benchmarkValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        // Sum of 4 uniforms: close enough to normal for timing and bounded.
        var total: Float = 0
        var bits = state
        for _ in 0..<4 {
            total += Float(bits & 0xffff) / 65536
            bits >>= 16
        }
        return (total - 2) * scale
    }
}

/// CPU time of the whole process so far (every thread, user + system), seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
