// sliceTokens as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation,
// and the dispatch to the OpenCL copy in OpenCL/OpenCLSliceTokens.swift.

/// Tokens `range` of every item of `x` `[batch, tokens, dim]`, as `[batch, range.count, dim]`.
public func sliceTokens(_ x: Tensor, _ range: Range<Int>) throws -> Tensor {
    let backend = try commonBackend("sliceTokens", x)
    guard x.rank == 3 else { throw VitreousError.shapeMismatch("sliceTokens: expected [batch, tokens, dim], got \(x.shape)") }
    let (batch, tokens, dim) = (x.shape[0], x.shape[1], x.shape[2])
    guard range.lowerBound >= 0, range.upperBound <= tokens else {
        throw VitreousError.invalidArgument("sliceTokens: range \(range) is outside 0..<\(tokens)")
    }
    let out = try backend.empty(shape: [batch, range.count, dim])
    switch backend.kind {
    case .cpu(let cpu): try cpu.sliceTokens(x, batch: batch, tokens: tokens, dim: dim, range: range, out: out)
    case .openCL(let openCL): try openCL.sliceTokens(x, batch: batch, tokens: tokens, dim: dim, range: range, out: out)
    }
    return out
}

extension CPUBackend {
    /// Tokens `range` of each item of `[batch, tokens, dim]` into `[batch, range.count, dim]`: one copy per item.
    func sliceTokens(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>, out: Tensor) throws {
        let (source, target) = (try host(x), try host(out))
        for b in 0..<batch {
            (target + b * range.count * dim).update(from: source + (b * tokens + range.lowerBound) * dim,
                                                    count: range.count * dim)
        }
    }
}
