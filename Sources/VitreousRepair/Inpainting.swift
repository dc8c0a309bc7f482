import Foundation

/// Post-hoc repair of flagged output tokens (RegisterRepair.md, "Output repairs"). Apply to outputs only (final patch
/// tokens, or a layer kept for visualisation): outliers carry global information the later blocks use, so
/// never write the result back into a running network.
public enum InpaintingMethod: Codable, Sendable, Equatable {
    /// Mean of the unflagged 8-neighbours, with Jacobi passes for cells deep inside a flagged region.
    case neighbourMean
    /// SINDER-style weighting of the 3×3 neighbourhood (centre included) by a binomial kernel and
    /// `exp(−|cos(x_s, u)|/temperature)`, so defect-aligned cells count for little; needs `u`.
    case sinderWeighted(temperature: Float = 0.1)
    /// Experimental, from no source: remove the component along `u` (`x ← x − (x·û)û`); needs `u`.
    case projectionRemoval

    /// The method to use unless there is a reason not to.
    public static let `default` = InpaintingMethod.neighbourMean
}

/// Repaired tokens and how the repair went.
public struct InpaintingResult: Sendable, Equatable {
    /// All patch tokens `[grid.count, dimension]`, the flagged ones replaced.
    public var tokens: [Float]
    /// Passes that changed something (neighbour mean: the depth of the deepest flagged region).
    public var passes: Int
    /// Whether every flagged token got a value; false only when a whole connected grid is flagged.
    public var filledAll: Bool
    /// Flagged patches left as they were, row-major.
    public var unfilled: [Int]
}

/// The inpainting algorithms; see ``InpaintingMethod``.
public enum Inpainting {
    /// Repairs `flagged` (row-major patch indices) in `tokens` `[grid.count, dimension]` with `method`.
    /// - Parameter direction: the defect direction `u`, required by the two methods that use it.
    /// - Throws: ``RepairError`` for mismatched sizes, an index off the grid, or a missing or zero `u`.
    public static func apply(_ method: InpaintingMethod, tokens: [Float], grid: PatchGrid, dimension: Int,
                             flagged: [Int], direction: [Float]? = nil) throws -> InpaintingResult {
        switch method {
        case .neighbourMean:
            return try neighbourMean(tokens: tokens, grid: grid, dimension: dimension, flagged: flagged)
        case .sinderWeighted(let temperature):
            return try sinderWeighted(tokens: tokens, grid: grid, dimension: dimension, flagged: flagged,
                                      direction: try required(direction, method), temperature: temperature)
        case .projectionRemoval:
            return try removeProjection(tokens: tokens, grid: grid, dimension: dimension, flagged: flagged,
                                        direction: try required(direction, method))
        }
    }

    /// Each flagged token becomes the mean of its valid 8-neighbours. Pass `k` reads only values valid
    /// before it (unflagged, or filled in an earlier pass), so the result does not depend on visiting
    /// order; cells filled in pass `k` become valid in pass `k + 1`. Stops when all are filled or a pass
    /// fills nothing (then ``InpaintingResult/filledAll`` is false and those tokens keep their values).
    public static func neighbourMean(tokens: [Float], grid: PatchGrid, dimension: Int,
                                     flagged: [Int]) throws -> InpaintingResult {
        try grid.checkTokens(tokens, dimension: dimension)
        var remaining = try grid.validated(flagged, "the flagged set")
        var valid = [Bool](repeating: true, count: grid.count)
        for t in remaining { valid[t] = false }
        var output = tokens
        var passes = 0
        while !remaining.isEmpty {
            var filled: [(Int, [Float])] = []
            for t in remaining {
                let sources = grid.neighbours8(of: t).filter { valid[$0] }
                guard !sources.isEmpty else { continue }
                var sum = [Double](repeating: 0, count: dimension)
                for s in sources { for i in 0..<dimension { sum[i] += Double(output[s * dimension + i]) } }
                filled.append((t, sum.map { Float($0 / Double(sources.count)) }))
            }
            guard !filled.isEmpty else { break }
            for (t, value) in filled {
                output.replaceSubrange((t * dimension)..<((t + 1) * dimension), with: value)
                valid[t] = true
            }
            remaining.removeAll { valid[$0] }
            passes += 1
        }
        return InpaintingResult(tokens: output, passes: passes, filledAll: remaining.isEmpty, unfilled: remaining)
    }

    /// `x_t ← Σ_{s∈3×3(t)} w_s·x_s` with `w_s ∝ K(s − t)·exp(−|cos(x_s, u)|/temperature)`,
    /// `K = [1 2 1; 2 4 2; 1 2 1]/16`, renormalised over the cells on the grid. All weights come from the
    /// original tokens (one pass, order-independent); a flagged centre is kept in the sum as in SINDER but
    /// weighs little because it is aligned with `u`.
    public static func sinderWeighted(tokens: [Float], grid: PatchGrid, dimension: Int, flagged: [Int],
                                      direction: [Float], temperature: Float = 0.1) throws -> InpaintingResult {
        guard temperature > 0, temperature.isFinite else {
            throw RepairError.invalidArgument("temperature is \(temperature); it must be positive")
        }
        let targets = try grid.validated(flagged, "the flagged set")
        let scores = try DefectCosineDetector.scores(tokens: tokens, grid: grid, dimension: dimension, direction: direction)
        let kernel: [Double] = [1, 2, 1, 2, 4, 2, 1, 2, 1]
        var output = tokens
        for t in targets {
            let (row, column) = (t / grid.width, t % grid.width)
            var sum = [Double](repeating: 0, count: dimension)
            var total = 0.0
            for dr in -1...1 {
                for dc in -1...1 {
                    let (r, c) = (row + dr, column + dc)
                    guard r >= 0, r < grid.height, c >= 0, c < grid.width else { continue }
                    let s = r * grid.width + c
                    let weight = kernel[(dr + 1) * 3 + dc + 1] * exp(-Double(scores[s]) / Double(temperature))
                    total += weight
                    for i in 0..<dimension { sum[i] += weight * Double(tokens[s * dimension + i]) }
                }
            }
            let value = sum.map { Float($0 / total) }
            output.replaceSubrange((t * dimension)..<((t + 1) * dimension), with: value)
        }
        return InpaintingResult(tokens: output, passes: targets.isEmpty ? 0 : 1, filledAll: true, unfilled: [])
    }

    /// Experimental and off by default (no source proposes it): `x_t ← x_t − (x_t·û)û` for flagged `t`.
    public static func removeProjection(tokens: [Float], grid: PatchGrid, dimension: Int, flagged: [Int],
                                        direction: [Float]) throws -> InpaintingResult {
        try grid.checkTokens(tokens, dimension: dimension)
        try DefectCosineDetector.checkDirection(direction, dimension: dimension)
        let targets = try grid.validated(flagged, "the flagged set")
        let length = Stats.norm(direction, 0, dimension)
        let unit = direction.map { Double($0) / length }
        var output = tokens
        for t in targets {
            var dot = 0.0
            for i in 0..<dimension { dot += Double(tokens[t * dimension + i]) * unit[i] }
            for i in 0..<dimension { output[t * dimension + i] = Float(Double(tokens[t * dimension + i]) - dot * unit[i]) }
        }
        return InpaintingResult(tokens: output, passes: targets.isEmpty ? 0 : 1, filledAll: true, unfilled: [])
    }

    private static func required(_ direction: [Float]?, _ method: InpaintingMethod) throws -> [Float] {
        guard let direction else {
            throw RepairError.invalidArgument("\(method) needs the defect direction u; pass `direction`")
        }
        return direction
    }
}
