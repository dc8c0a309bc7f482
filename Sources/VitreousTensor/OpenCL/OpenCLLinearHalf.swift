extension OpenCLBackend {
    /// `weight` `[n, k]` stored as half on the device for the half-weight linear kernel.
    func halfLinearWeight(_ weight: Tensor, n: Int, k: Int) throws -> Tensor {
        throw VitreousError.invalidArgument("fp16 weights on \(device) are not built yet")
    }
}
