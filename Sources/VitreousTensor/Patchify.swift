// patchify as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation,
// and the dispatch to the OpenCL launcher in OpenCL/OpenCLPatchify.swift.
import CVitreousCPU

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
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.patchify(images, batch: batch, channels: channels, height: height, width: width, patch: patch,
                         out: out)
    case .openCL(let openCL):
        try openCL.patchify(images, channels: channels, height: height, width: width, patch: patch, out: out)
    }
    return out
}

extension CPUBackend {
    /// im2col of a stride-`patch` convolution (a plain copy in C), split over the cores by patch rows.
    func patchify(_ images: Tensor, batch: Int, channels: Int, height: Int, width: Int, patch: Int,
                  out: Tensor) throws {
        let source = SendablePointer(try host(images)), target = SendablePointer(try host(out))
        let rows = batch * (height / patch) * (width / patch)
        parallelFor(rows, grain: 16) { range in
            vk_patchify_rows(source.base, channels, height, width, patch, range.lowerBound, range.upperBound,
                             target.base)
        }
    }
}
