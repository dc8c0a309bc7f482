// addLayerNorm as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation,
// and the dispatch to the OpenCL launcher in OpenCL/OpenCLAddLayerNorm.swift.

/// The residual add and the following layer norm in one pass: `sum = x + residual`,
/// `normalized = layerNorm(sum)`. `sum` is the new residual stream of a pre-norm block.
public func addLayerNorm(_ x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor,
                         eps: Float = 1e-6) throws -> (sum: Tensor, normalized: Tensor) {
    let backend = try commonBackend("addLayerNorm", x, residual, weight, bias)
    let (rows, dim) = try normParameters(x, weight, bias, eps, "addLayerNorm")
    try requireShape(residual, x.shape, "residual", "addLayerNorm")
    let sum = try backend.empty(shape: x.shape)
    let out = try backend.empty(shape: x.shape)
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.addLayerNorm(x, residual: residual, weight: weight, bias: bias, rows: rows, dim: dim, eps: eps,
                             sum: sum, out: out)
    case .openCL(let openCL):
        try openCL.addLayerNorm(x, residual: residual, weight: weight, bias: bias, rows: rows, dim: dim, eps: eps,
                                sum: sum, out: out)
    }
    return (sum, out)
}

extension CPUBackend {
    /// `sum = x + residual`, `out = layerNorm(sum)`, rows of `dim`, split over the cores by rows.
    func addLayerNorm(_ x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, rows: Int, dim: Int, eps: Float,
                      sum: Tensor, out: Tensor) throws {
        let px = SendablePointer(try host(x)), pr = SendablePointer(try host(residual))
        let ps = SendablePointer(try host(sum)), py = SendablePointer(try host(out))
        let pw = SendablePointer(try host(weight)), pb = SendablePointer(try host(bias))
        parallelFor(rows, grain: Self.normRowGrain(dim)) { range in
            for row in range {
                let source = px.base + row * dim, r = pr.base + row * dim, s = ps.base + row * dim
                CPUMath.forEachLane(dim, vector: { i in
                    s.storeVector(source.loadVector(at: i) + r.loadVector(at: i), at: i)
                }, scalar: { i in s[i] = source[i] + r[i] })
                Self.normalizeRow(s, into: py.base + row * dim, dim: dim, eps: eps, weight: pw.base, bias: pb.base)
            }
        }
    }
}
