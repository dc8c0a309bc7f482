// tokenNorms as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation,
// and the dispatch to the OpenCL launcher in OpenCL/OpenCLTokenNorms.swift.
import CVitreousCPU

/// Per-token L2 norms and per-image statistics, from ``tokenNorms(_:statisticsOver:)``.
public struct TokenNorms: Sendable {
    /// `[batch, tokens]`: the L2 norm of each token's channel vector.
    public let norms: Tensor
    /// `[batch, 3]`: per image `(max, argmax, mean)` over the chosen token range. Argmax is a token index
    /// stored as float (exact below 2²⁴ tokens); it is the first maximum. A NaN norm counts as the maximum.
    public let statistics: Tensor

    /// One image's statistics, read back to the host.
    public struct ImageStatistics: Sendable, Equatable {
        /// The largest norm in the range (NaN when one is NaN).
        public let max: Float
        /// The token of the first largest norm; -1 when it is not finite.
        public let argmax: Int
        /// The mean norm over the range.
        public let mean: Float
    }

    /// The statistics of every image, read back to the host (waits for the device).
    public func imageStatistics() throws -> [ImageStatistics] {
        let values = try statistics.toArray()
        return stride(from: 0, to: values.count, by: 3).map {
            ImageStatistics(max: values[$0], argmax: values[$0 + 1].isFinite ? Int(values[$0 + 1]) : -1,
                            mean: values[$0 + 2])
        }
    }
}

/// The L2 norm of every token of `x` (`[batch, tokens, dim]`, or `[tokens, dim]` as one image) and,
/// per image, max / argmax / mean of the norms over tokens `range` (all tokens by default; pass the
/// patch range to leave out CLS and registers).
public func tokenNorms(_ x: Tensor, statisticsOver range: Range<Int>? = nil) throws -> TokenNorms {
    let backend = try commonBackend("tokenNorms", x)
    guard x.rank == 2 || x.rank == 3 else {
        throw VitreousError.shapeMismatch("tokenNorms: expected [batch, tokens, dim] or [tokens, dim], got \(x.shape)")
    }
    let (batch, tokens, dim) = x.rank == 3 ? (x.shape[0], x.shape[1], x.shape[2]) : (1, x.shape[0], x.shape[1])
    guard batch > 0, tokens > 0 else {
        throw VitreousError.invalidArgument("tokenNorms: \(x.shape) has no tokens")
    }
    let range = range ?? 0..<tokens
    guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= tokens else {
        throw VitreousError.invalidArgument("tokenNorms: statistics range \(range) is not a non-empty part of 0..<\(tokens)")
    }
    let norms = try backend.empty(shape: x.rank == 3 ? [batch, tokens] : [tokens])
    let stats = try backend.empty(shape: [batch, 3])
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.tokenNorms(x, batch: batch, tokens: tokens, dim: dim, range: range, norms: norms, stats: stats)
    case .openCL(let openCL):
        try openCL.tokenNorms(x, batch: batch, tokens: tokens, dim: dim, range: range, norms: norms, stats: stats)
    }
    return TokenNorms(norms: norms, statistics: stats)
}

extension CPUBackend {
    /// Per-token L2 norms of `[batch, tokens, dim]` into `norms` `[batch, tokens]` (split over the cores by
    /// tokens), and per image `(max, argmax, mean)` over tokens `range` into `stats` `[batch, 3]`.
    func tokenNorms(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>,
                    norms: Tensor, stats: Tensor) throws {
        let px = SendablePointer(try host(x)), pn = SendablePointer(try host(norms))
        let pstats = try host(stats)
        let kernels = CPUInstructionSet.kernels
        parallelFor(batch * tokens, grain: max(1, 8_192 / max(dim, 1))) { rows in
            kernels.row_norms(px.base + rows.lowerBound * dim, rows.count, dim, pn.base + rows.lowerBound)
        }
        for image in 0..<batch {
            let line = pn.base + image * tokens
            let (maximum, argmax, mean) = CPUKernels.statistics(line, range)
            pstats[image * 3] = maximum
            pstats[image * 3 + 1] = Float(argmax)
            pstats[image * 3 + 2] = mean
        }
    }
}
