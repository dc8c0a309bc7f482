// layerNorm as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation,
// and the dispatch to the OpenCL launcher in OpenCL/OpenCLLayerNorm.swift.
import CVitreousCPU

/// Layer norm over the last axis: `(x − mean) / √(var + eps) · weight + bias`, biased variance as PyTorch.
/// NaN or infinite inputs give NaN in their row, nowhere else.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-6) throws -> Tensor {
    let backend = try commonBackend("layerNorm", x, weight, bias)
    let (rows, dim) = try normParameters(x, weight, bias, eps, "layerNorm")
    let out = try backend.empty(shape: x.shape)
    switch backend.kind {
    case .cpu(let cpu): try cpu.layerNorm(x, weight: weight, bias: bias, rows: rows, dim: dim, eps: eps, out: out)
    case .openCL(let openCL):
        try openCL.layerNorm(x, weight: weight, bias: bias, rows: rows, dim: dim, eps: eps, out: out)
    }
    return out
}

extension CPUBackend {
    /// Layer norm of `rows` rows of `dim`, split over the cores by rows.
    func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, rows: Int, dim: Int, eps: Float, out: Tensor) throws {
        let px = SendablePointer(try host(x)), py = SendablePointer(try host(out))
        let pw = SendablePointer(try host(weight)), pb = SendablePointer(try host(bias))
        let kernels = CPUInstructionSet.kernels
        parallelFor(rows, grain: Self.normRowGrain(dim)) { range in
            let offset = range.lowerBound * dim
            kernels.layer_norm_rows(px.base + offset, nil, nil, pw.base, pb.base, range.count, dim, eps,
                                    py.base + offset)
        }
    }

    /// Rows per parallel chunk of a row-wise norm: about 8 K floats.
    static func normRowGrain(_ dim: Int) -> Int { max(1, 8_192 / max(dim, 1)) }
}
