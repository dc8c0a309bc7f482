import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

/// The backends every op test runs on: the CPU and each OpenCL device present. Poisoning of new
/// allocations is switched on before any test touches a backend, so unwritten outputs read as NaN.
let testDevices: [Device] = {
    NaNPoisoning.isEnabled = true
    return Device.all
}()

/// A fresh generator per test; the seed is part of every failure message so a failure can be replayed.
struct TestRandom: RandomNumberGenerator {
    let seed: UInt64
    private var generator: SplitMix64

    init(seed: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        self.seed = seed
        generator = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 { generator.next() }

    /// Normal values (Box–Muller), scaled and shifted.
    mutating func normal(_ count: Int, mean: Float = 0, std: Float = 1) -> [Float] {
        generator.normal(count, mean: mean, std: std)
    }
}

extension Array where Element == Float {
    var doubles: [Double] { map(Double.init) }
}

/// Asserts that `tensor` matches `reference` within relative L2 error `bound`, reporting the error.
func expectClose(_ tensor: Tensor, _ reference: [Double], bound: Double, _ context: String,
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
    let values = try tensor.toArray()
    let error = Reference.relativeError(values, reference)
    #expect(error <= bound, "\(context): relative error \(error) > \(bound)", sourceLocation: sourceLocation)
}

/// True when this run is CI, where a missing OpenCL device must fail instead of being skipped.
var runningInCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// The text of the error `body` throws, or "" when it throws none.
func message(_ body: () throws -> Void) -> String {
    do {
        try body()
        return ""
    } catch {
        return String(describing: error)
    }
}
