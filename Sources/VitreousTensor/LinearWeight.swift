/// A linear layer's weight `[out, in]` stored in `precision` for ``linear(_:weight:bias:activation:)``: the
/// conversion a model makes once, when it loads (see ``Precision``).
///
/// - ``Precision/fp32``: `weight` itself.
/// - ``Precision/bf16`` (CPU): rounded to bf16 (to nearest, ties to even) and packed for the bf16 GEMM; the new
///   tensor holds only that (half the float32 bytes). ``linear(_:weight:bias:activation:)`` then rounds its input
///   to bf16 as it packs it and sums in float32. ``Tensor/toArray()`` returns the rounded values; other ops refuse
///   the tensor.
/// - ``Precision/fp16`` (OpenCL): rounded to IEEE half (to nearest, ties to even) on the device; the new tensor
///   holds only the halves (half the float32 bytes). ``linear(_:weight:bias:activation:)`` reads them with
///   `vload_half` and sums in float32 (in half within each tile step where the device has `cl_khr_fp16`; see the
///   "Kernels" article). ``Tensor/toArray()`` returns the rounded values; other ops refuse the tensor.
///
/// - Throws: ``VitreousError/shapeMismatch(_:)`` for a weight that is not a matrix,
///   ``VitreousError/invalidArgument(_:)`` for a precision the weight's device does not run.
public func linearWeight(_ weight: Tensor, precision: Precision) throws -> Tensor {
    let backend = try commonBackend("linearWeight", weight)
    guard weight.rank == 2 else {
        throw VitreousError.shapeMismatch("linearWeight: weight has shape \(weight.shape), expected [out, in]")
    }
    try precision.check(on: weight.device)
    if precision == .fp32 || weight.precision == precision { return weight }
    switch backend.kind {
    case .cpu(let cpu): return try cpu.bf16LinearWeight(weight, n: weight.shape[0], k: weight.shape[1])
    case .openCL(let gpu): return try gpu.halfLinearWeight(weight, n: weight.shape[0], k: weight.shape[1])
    }
}

extension Tensor {
    /// How this tensor's elements are stored: ``Precision/fp32`` unless ``linearWeight(_:precision:)`` made it.
    public var precision: Precision {
        switch storage {
        case is BF16WeightStorage: return .bf16
        case is HalfWeightStorage: return .fp16
        default: return .fp32
        }
    }
}
