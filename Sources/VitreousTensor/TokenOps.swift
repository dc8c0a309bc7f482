// Public ops that move pixels and tokens into the layouts a ViT works on.

/// The patches of images `[batch, channels, height, width]` as rows `[batch, gh·gw, channels·patch·patch]`,
/// each row ordered (channel, ky, kx) as a convolution weight `[D, channels, patch, patch]` flattens, and the
/// patches row-major over the grid. `linear` with the flattened weight then is the patch embedding.
public func patchify(_ images: Tensor, patch: Int) throws -> Tensor {
    let backend = try commonBackend("patchify", images)
    guard images.rank == 4 else {
        throw VitreousError.shapeMismatch("patchify: expected images [batch, channels, height, width], got \(images.shape)")
    }
    let (batch, channels, height, width) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    guard patch > 0, height > 0, width > 0, height % patch == 0, width % patch == 0 else {
        throw VitreousError.invalidArgument(
            "patchify: \(height)×\(width) pixels are not a whole number of \(patch)×\(patch) patches")
    }
    let out = try backend.empty(shape: [batch, (height / patch) * (width / patch), channels * patch * patch])
    try backend.patchify(images, batch: batch, channels: channels, height: height, width: width, patch: patch,
                         out: out)
    return out
}

/// The token sequence of a ViT: `[batch, 1 + R + N + extra, D]` holding CLS + `positions[0]`, the `R`
/// registers (no position embedding, as DINOv2 adds them after it), each of the `N` patch embeddings plus
/// `positions[1 + i]`, then `extra` zero tokens (test-time registers).
/// - Parameters:
///   - patches: `[batch, N, D]`.
///   - cls: `[D]`.
///   - registers: `[R, D]`, or nil for none.
///   - positions: `[1 + N, D]`, already resampled to the image's grid.
public func assembleTokens(patches: Tensor, cls: Tensor, registers: Tensor? = nil, positions: Tensor,
                           extraTokens: Int = 0) throws -> Tensor {
    let backend = try commonBackend("assembleTokens", patches, cls, registers, positions)
    guard patches.rank == 3 else {
        throw VitreousError.shapeMismatch("assembleTokens: patches must be [batch, N, D], got \(patches.shape)")
    }
    let (batch, count, dim) = (patches.shape[0], patches.shape[1], patches.shape[2])
    guard cls.shape == [dim] else {
        throw VitreousError.shapeMismatch("assembleTokens: cls has shape \(cls.shape), expected [\(dim)]")
    }
    guard positions.shape == [1 + count, dim] else {
        throw VitreousError.shapeMismatch(
            "assembleTokens: positions have shape \(positions.shape), expected [\(1 + count), \(dim)]")
    }
    let registerCount = registers?.shape.first ?? 0
    if let registers, registers.shape != [registerCount, dim] {
        throw VitreousError.shapeMismatch("assembleTokens: registers have shape \(registers.shape), expected [R, \(dim)]")
    }
    guard extraTokens >= 0 else { throw VitreousError.invalidArgument("assembleTokens: \(extraTokens) extra tokens") }
    let out = try backend.empty(shape: [batch, 1 + registerCount + count + extraTokens, dim])
    try backend.assembleTokens(patches: patches, cls: cls, registers: registerCount > 0 ? registers : nil,
                               positions: positions, batch: batch, registerCount: registerCount, patchCount: count,
                               extraCount: extraTokens, dim: dim, out: out)
    return out
}

/// Tokens `range` of every item of `x` `[batch, tokens, dim]`, as `[batch, range.count, dim]`.
public func sliceTokens(_ x: Tensor, _ range: Range<Int>) throws -> Tensor {
    let backend = try commonBackend("sliceTokens", x)
    guard x.rank == 3 else { throw VitreousError.shapeMismatch("sliceTokens: expected [batch, tokens, dim], got \(x.shape)") }
    let (batch, tokens, dim) = (x.shape[0], x.shape[1], x.shape[2])
    guard range.lowerBound >= 0, range.upperBound <= tokens else {
        throw VitreousError.invalidArgument("sliceTokens: range \(range) is outside 0..<\(tokens)")
    }
    let out = try backend.empty(shape: [batch, range.count, dim])
    try backend.sliceTokens(x, batch: batch, tokens: tokens, dim: dim, range: range, out: out)
    return out
}

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
    try backend.swiglu(x, rows: x.count / last, hidden: hidden, out: out)
    return out
}
