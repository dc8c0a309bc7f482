// swiglu as one unit (the recipe of AddingAnOp.md): the public op with its check, the CPU implementation, and the
// dispatch to the OpenCL launcher in OpenCL/OpenCLSwiGLU.swift.
import CVitreousCPU

/// SwiGLU's gating: for `x` `[..., 2H]` laid out `[gate | up]`, `silu(gate) ⊙ up` as `[..., H]`
/// (the activation of DINOv2 ViT-g's MLP).
public func swiglu(_ x: Tensor) throws -> Tensor {
    let backend = try commonBackend("swiglu", x)
    guard let last = x.shape.last, last % 2 == 0 else {
        throw VitreousError.shapeMismatch("swiglu: the last axis of \(x.shape) must be even ([gate | up])")
    }
    let hidden = last / 2
    let out = try backend.empty(shape: Array(x.shape.dropLast()) + [hidden])
    guard hidden > 0 else { return out }
    switch backend.kind {
    case .cpu(let cpu): try cpu.swiglu(x, rows: x.count / last, hidden: hidden, out: out)
    case .openCL(let openCL): try openCL.swiglu(x, hidden: hidden, out: out)
    }
    return out
}

extension CPUBackend {
    /// `silu(gate) ⊙ up` for `rows` rows `[gate | up]` of `2·hidden`, split over the cores by rows.
    func swiglu(_ x: Tensor, rows: Int, hidden: Int, out: Tensor) throws {
        let (source, target) = (SendablePointer(try host(x)), SendablePointer(try host(out)))
        let kernels = CPUInstructionSet.kernels
        parallelFor(rows, grain: max(1, 8_192 / max(hidden, 1))) { range in
            kernels.swiglu_rows(source.base + range.lowerBound * 2 * hidden, target.base + range.lowerBound * hidden,
                                range.count, hidden)
        }
    }
}
