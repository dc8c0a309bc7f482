// sliceTokens on an OpenCL device: no kernel, one rectangular buffer copy.
import COpenCL

extension OpenCLBackend {
    /// Tokens `range` of each item of `[batch, tokens, dim]` into `[batch, range.count, dim]`.
    func sliceTokens(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>, out: Tensor) throws {
        guard out.count > 0 else { return }
        let (source, target) = (try buffer(x), try buffer(out))
        // One rectangle: `batch` rows of `range.count·dim` floats, source rows `tokens·dim` apart.
        var sourceOrigin = [range.lowerBound * dim * 4, 0, 0], targetOrigin = [0, 0, 0]
        var region = [range.count * dim * 4, batch, 1]
        try enqueue("clEnqueueCopyBufferRect") { queue in
            clEnqueueCopyBufferRect(queue, source, target, &sourceOrigin, &targetOrigin, &region,
                                    tokens * dim * 4, 0, range.count * dim * 4, 0, 0, nil, nil)
        }
    }
}
