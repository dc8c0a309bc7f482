extension OpenCLBackend {
    /// `out = act(x · weightᵀ + bias)` for `rows` rows: CLBlast's SGEMM, then the bias and activation kernel; a
    /// half weight (``linearWeight(_:precision:)``) runs the half-weight kernel instead (OpenCLLinearHalf.swift).
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation, rows: Int, outFeatures: Int,
                inFeatures: Int, out: Tensor) throws {
        if let half = weight.storage as? HalfWeightStorage {
            try halfLinear(x, weight: half, bias: bias, activation: activation, rows: rows, outFeatures: outFeatures,
                           inFeatures: inFeatures, out: out)
            return
        }
        try matmul(x, weight, into: out, batch: 1, m: rows, n: outFeatures, k: inFeatures, transposeB: true,
                   shareB: true)
        try biasActivation(out, bias: bias, activation: activation, columns: outFeatures)
    }
}
