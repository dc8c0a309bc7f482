extension OpenCLBackend {
    /// `out = act(x · weightᵀ + bias)` for `rows` rows: CLBlast's SGEMM, then the bias and activation kernel.
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation, rows: Int, outFeatures: Int,
                inFeatures: Int, out: Tensor) throws {
        try matmul(x, weight, into: out, batch: 1, m: rows, n: outFeatures, k: inFeatures, transposeB: true,
                   shareB: true)
        try biasActivation(out, bias: bias, activation: activation, columns: outFeatures)
    }
}
