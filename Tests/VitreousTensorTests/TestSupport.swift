import Foundation
import Testing
@testable import VitreousTensor

/// The backends every op test runs on: the CPU and each OpenCL device present (only the CPU with
/// VITREOUS_TEST_DEVICES=cpu, which Scripts/test.sh sets when it reruns the suite per CPU instruction set).
/// Poisoning of new allocations is switched on before any test touches a backend, so unwritten outputs read
/// as NaN.
let testDevices: [Device] = {
    VitreousDebug.poisonAllocations = true
    return ProcessInfo.processInfo.environment["VITREOUS_TEST_DEVICES"] == "cpu" ? [.cpu] : Device.all
}()

/// A fresh generator per test; the seed is part of every failure message so a failure can be replayed.
struct TestRandom: RandomNumberGenerator {
    let seed: UInt64
    private var state: UInt64

    init(seed: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        self.seed = seed
        state = seed
    }

    mutating func next() -> UInt64 {  // SplitMix64
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Standard normal values (Box–Muller), scaled and shifted.
    mutating func normal(_ count: Int, mean: Float = 0, std: Float = 1) -> [Float] {
        (0..<count).map { _ in
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
            let u2 = Double.random(in: 0..<1, using: &self)
            return mean + std * Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
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
