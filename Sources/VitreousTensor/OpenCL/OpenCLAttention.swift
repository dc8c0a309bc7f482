import COpenCL
import Foundation

extension KernelTunable {
    // attention.cl: work-items per group (`ATT_WG`), query rows per vector (`ATT_VEC`), vectors of rows per
    // work-item (`ATT_ROWS`), keys per tile at most (`ATT_KT`, lowered for big head dims by
    // `attentionDefines(headDim:)`), full unrolling of the head-dim loops (`ATT_UNROLL`), and the probability
    // pass's group (`ATT_PROB_WG`).
    //
    // CPU drivers: PoCL runs a group per core thread. One item per group: with more, PoCL moves its work-item
    // loop inside the kernel's loops and keeps the scores in memory instead of registers (measured slower). The
    // item holds 2 × 16 query rows in the lanes of AVX-512 vectors and 16 keys' scores fill half the vector
    // registers; rolled head-dim loops measured 1.7× faster than unrolled ones (PoCL 3.1, T = 1370, Dh = 64).
    // Without AVX-512 half as wide and half the keys, for 16 AVX2 registers: a guess, not measured.
    //
    // GPUs: the textbook layout, not measured here (no GPU on the development machine): one query row per
    // work-item (scalar code, the lanes are the work-items), 64 rows per group sharing each K/V tile in local
    // memory, head-dim loops unrolled so that the row's arrays stay in registers.
    static let attentionGroup = KernelTunable("ATT_WG", cpu: 1, gpu: 64, workGroupSize: true)
    static let attentionRows = KernelTunable("ATT_ROWS", cpu: 2, gpu: 1)
    static let attentionVector = KernelTunable("ATT_VEC", cpu: 8, cpuAVX512: 16, gpu: 1)
    static let attentionKeyTile = KernelTunable("ATT_KT", cpu: 8, cpuAVX512: 16, gpu: 32)
    static let attentionUnroll = KernelTunable("ATT_UNROLL", cpu: 0, gpu: 1, overridable: false)
    static let probabilityGroup = KernelTunable("ATT_PROB_WG", cpu: 16, gpu: 128, workGroupSize: true)
}

extension KernelProgram {
    /// Built once more per head dim, with `HEAD_DIM` and a key tile that fits local memory
    /// (`attentionDefines(headDim:)`).
    static let attention = KernelProgram(file: "attention", source: KernelSources.attention,
                                         tunables: [.attentionGroup, .attentionRows, .attentionVector,
                                                    .attentionUnroll, .probabilityGroup])
}

extension OpenCLKernel {
    static let attentionFlash = OpenCLKernel(.attention, "attention_flash")
    static let attentionProbabilities = OpenCLKernel(.attention, "attention_probs")
}

extension OpenCLTuning {
    /// The per-head-dim `-D` options of attention.cl: the head dim, and a key tile whose K and V stay within
    /// half the device's local memory (the other half is left to the driver and to occupancy).
    func attentionDefines(headDim: Int) -> String {
        let fitting = localMemoryBytes / 2 / (4 * (2 * headDim + 1))
        let keyTile = max(1, min(self[.attentionKeyTile], fitting))
        return "-DHEAD_DIM=\(headDim) -DATT_KT=\(keyTile)"
    }
}

extension OpenCLBackend {
    /// The largest head dim the OpenCL kernels take: each work-item keeps its query rows and accumulators
    /// (2 × head dim floats per row) in registers, which a GPU runs out of beyond this.
    package static let maxAttentionHeadDim = 256

    /// Flash-style attention with `attention.cl`: `attention_flash` for the output and, when asked,
    /// `attention_probs` for the chosen query rows. Both read Q, K and V in place through their strides; the
    /// program is built once per head dim (`-DHEAD_DIM`), so loop bounds and array sizes are constants.
    /// - Throws: ``VitreousError/invalidArgument(_:)`` for a head dim above ``maxAttentionHeadDim``.
    package func attention(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor?, geometry g: AttentionGeometry,
                          out: Tensor, rows: [Int], probabilities: Tensor?) throws {
        guard g.headDim <= Self.maxAttentionHeadDim else {
            throw VitreousError.invalidArgument("attention: head dim \(g.headDim) is above the OpenCL kernels' limit "
                                                + "of \(Self.maxAttentionHeadDim); run it on the CPU device")
        }
        let (mq, mk, mv, mo) = (try buffer(q), try buffer(k), try buffer(v), try buffer(out))
        let mask = try keyMask.map(buffer)
        let tuning = programs.tuning
        let defines = tuning.attentionDefines(headDim: g.headDim)
        // Scores in base 2, so the kernels use exp2: exp(x) = 2^(x·log2 e).
        let scaleLog2 = g.scale * 1.442_695_040_888_963_4
        let group = tuning[.attentionGroup], probabilityGroup = tuning[.probabilityGroup]
        let groupRows = group * tuning[.attentionRows] * tuning[.attentionVector]
        let groups = g.batch * g.heads * ((g.tokens + groupRows - 1) / groupRows)
        try launch(.attentionFlash, defines: defines, global: groups * group, local: group,
                   [.buffer(mq), .buffer(mk), .buffer(mv), .buffer(mask), .buffer(mo),
                    .int(g.tokens), .int(g.heads), .int(g.rowStride), .int(g.qOffset), .int(g.kOffset),
                    .int(g.vOffset), .int(mask == nil ? 0 : 1), .float(scaleLog2)])
        guard let probabilities, !rows.isEmpty else { return }
        // The row indices travel as floats (exact below 2²⁴ tokens) in an ordinary tensor.
        let indices = try rows.map(Float.init).withUnsafeBufferPointer { try tensor($0, shape: [rows.count]) }
        try launch(.attentionProbabilities, defines: defines,
                   global: g.batch * g.heads * rows.count * probabilityGroup, local: probabilityGroup,
                   [.buffer(mq), .buffer(mk), .buffer(mask), .buffer(try buffer(indices)),
                    .buffer(try buffer(probabilities)), .int(g.tokens), .int(g.heads), .int(g.rowStride),
                    .int(g.qOffset), .int(g.kOffset), .int(mask == nil ? 0 : 1), .int(rows.count),
                    .float(scaleLog2)])
    }
}
