import COpenCL
import Foundation

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
        let groupRows = tuning.attentionGroup * tuning.attentionRows * tuning.attentionVector
        let groups = g.batch * g.heads * ((g.tokens + groupRows - 1) / groupRows)
        try launch("attention_flash", in: "attention", defines: defines, global: groups * tuning.attentionGroup,
                   local: tuning.attentionGroup,
                   [.buffer(mq), .buffer(mk), .buffer(mv), .buffer(mask), .buffer(mo),
                    .int(g.tokens), .int(g.heads), .int(g.rowStride), .int(g.qOffset), .int(g.kOffset),
                    .int(g.vOffset), .int(mask == nil ? 0 : 1), .float(scaleLog2)])
        guard let probabilities, !rows.isEmpty else { return }
        // The row indices travel as floats (exact below 2²⁴ tokens) in an ordinary tensor.
        let indices = try rows.map(Float.init).withUnsafeBufferPointer { try tensor($0, shape: [rows.count]) }
        try launch("attention_probs", in: "attention", defines: defines,
                   global: g.batch * g.heads * rows.count * tuning.probabilityGroup, local: tuning.probabilityGroup,
                   [.buffer(mq), .buffer(mk), .buffer(mask), .buffer(try buffer(indices)),
                    .buffer(try buffer(probabilities)), .int(g.tokens), .int(g.heads), .int(g.rowStride),
                    .int(g.qOffset), .int(g.kOffset), .int(mask == nil ? 0 : 1), .int(rows.count),
                    .float(scaleLog2)])
    }
}
