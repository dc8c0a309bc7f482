// assembleTokens as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation,
// and the dispatch to the OpenCL launcher in OpenCL/OpenCLAssembleTokens.swift.

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
    let registers = registerCount > 0 ? registers : nil
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.assembleTokens(patches: patches, cls: cls, registers: registers, positions: positions, batch: batch,
                               registerCount: registerCount, patchCount: count, extraCount: extraTokens, dim: dim,
                               out: out)
    case .openCL(let openCL):
        try openCL.assembleTokens(patches: patches, cls: cls, registers: registers, positions: positions,
                                  registerCount: registerCount, patchCount: count, extraCount: extraTokens, dim: dim,
                                  out: out)
    }
    return out
}

extension CPUBackend {
    /// `[batch, 1 + registerCount + patchCount + extraCount, dim]`: CLS + position 0, the registers, each patch +
    /// its position, then zero tokens; split over the cores by tokens.
    func assembleTokens(patches: Tensor, cls: Tensor, registers: Tensor?, positions: Tensor, batch: Int,
                        registerCount: Int, patchCount: Int, extraCount: Int, dim: Int, out: Tensor) throws {
        let (pp, pc, pos) = (SendablePointer(try host(patches)), SendablePointer(try host(cls)),
                             SendablePointer(try host(positions)))
        let pr = try registers.map { SendablePointer(try host($0)) }
        let target = SendablePointer(try host(out))
        let tokens = 1 + registerCount + patchCount + extraCount
        parallelFor(batch * tokens, grain: 64) { range in
            for row in range {
                let (b, t) = (row / tokens, row % tokens)
                let y = target.base + row * dim
                if t == 0 {
                    for d in 0..<dim { y[d] = pc[d] + pos[d] }
                } else if t <= registerCount, let pr {
                    y.update(from: pr.base + (t - 1) * dim, count: dim)
                } else if t <= registerCount + patchCount {
                    let p = t - 1 - registerCount
                    let (x, e) = (pp.base + (b * patchCount + p) * dim, pos.base + (1 + p) * dim)
                    for d in 0..<dim { y[d] = x[d] + e[d] }
                } else {
                    y.update(repeating: 0, count: dim)
                }
            }
        }
    }
}
