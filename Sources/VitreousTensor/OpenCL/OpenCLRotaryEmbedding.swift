extension KernelTunable {
    /// rope.cl's work-group size (`ROPE_WG`): one element per work-item, as the element-wise kernels.
    static let ropeGroup = KernelTunable("ROPE_WG", cpu: 256, gpu: 256, workGroupSize: true)
}

extension KernelProgram {
    static let rope = KernelProgram(file: "rope", source: KernelSources.rope, tunables: [.ropeGroup])
}

extension OpenCLKernel {
    static let rotaryEmbedding = OpenCLKernel(.rope, "rotary_embedding")
}

/// DINOv3's rotary embedding on an OpenCL device (`Kernels/rope.cl`), one work-item per element.
extension OpenCLBackend {
    func rotaryEmbedding(_ qkv: Tensor, cos: Tensor, sin: Tensor, _ g: RotaryGeometry, out: Tensor) throws {
        try launch(.rotaryEmbedding, global: out.count, local: programs.tuning[.ropeGroup],
                   [.buffer(try buffer(qkv)), .buffer(try buffer(cos)), .buffer(try buffer(sin)),
                    .buffer(try buffer(out)), .int(out.count), .int(g.tokens), .int(g.heads), .int(g.half),
                    .int(g.rotated.lowerBound), .int(g.rotated.upperBound)])
    }
}
