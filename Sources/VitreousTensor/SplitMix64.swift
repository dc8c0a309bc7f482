import Foundation

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same numbers on every machine
/// and Swift version, which `SystemRandomNumberGenerator` cannot promise. The one seeded generator of the
/// package: demo weights, repair start vectors and every test input come from it.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    package init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Double in (0, 1] built from the top 53 bits (never 0, so its logarithm is finite).
    package mutating func unitInterval() -> Double { Double((next() >> 11) + 1) * 0x1p-53 }

    /// `count` samples of N(mean, std²) by the Box–Muller transform, both outputs of each pair used.
    package mutating func normal(_ count: Int, mean: Float = 0, std: Float = 1) -> [Float] {
        var values: [Float] = []
        values.reserveCapacity(count)
        while values.count < count {
            let radius = (-2 * log(unitInterval())).squareRoot()
            let angle = 2 * Double.pi * unitInterval()
            values.append(mean + std * Float(radius * cos(angle)))
            if values.count < count { values.append(mean + std * Float(radius * sin(angle))) }
        }
        return values
    }
}
