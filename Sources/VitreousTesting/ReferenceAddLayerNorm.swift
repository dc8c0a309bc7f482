extension Reference {
    /// ``VitreousTensor/addLayerNorm(_:residual:weight:bias:eps:)`` in float64: `sum = x + residual` and the
    /// layer norm of each row of `dim` of it.
    public static func addLayerNorm(_ x: [Double], residual: [Double], weight: [Double], bias: [Double], dim: Int,
                                    eps: Double = 1e-6) -> (sum: [Double], normalized: [Double]) {
        let sum = zip(x, residual).map { $0 + $1 }
        return (sum, layerNorm(sum, weight: weight, bias: bias, dim: dim, eps: eps))
    }
}
