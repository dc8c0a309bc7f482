import CVitreousCPU
import Foundation

/// How the CPU attention splits one problem into work items.
struct CPUAttentionPlan: Equatable {
    /// Query rows per work item (a multiple of `VK_ATTENTION_ROW_MULTIPLE`).
    let queryBlock: Int
    /// What every query block is a multiple of: the rows of the largest register tile.
    static let rowMultiple = Int(VK_ATTENTION_ROW_MULTIPLE)

    /// 48 query rows per item: each 64-key tile of K and V is loaded into L1 once for 8 register groups of
    /// rows, and 24…96 rows measured alike on one AVX-512 core (Benchmarks/HISTORY.md). Smaller blocks only
    /// when that leaves fewer than four items per core, so that the cores finish together.
    init(batch: Int, tokens: Int, heads: Int, threads: Int = hostThreadCount) {
        var block = 48
        while block > Self.rowMultiple && batch * heads * ((tokens + block - 1) / block) < 4 * threads {
            block -= Self.rowMultiple
        }
        queryBlock = block
    }
}

extension CPUBackend {
    /// Flash-style attention on the host, in C (attention.c) with no BLAS: per (batch item, head, block of
    /// query rows) work item, one pass over 64-key tiles with the online-softmax recurrence, the tile
    /// products `Q·Kᵀ` and `P·V` register-blocked micro-kernels of the active instruction set, so that the
    /// scores of a tile never leave L1. Work items are split over the cores in contiguous ranges; each core
    /// packs the K and V of each head it meets once into its own scratch (one head's worth, which stays in
    /// L2). The requested probability rows come out of the same pass: their biased scores are kept as they go
    /// by and normalised with the row's final maximum and sum, so they agree exactly with the output.
    package func attention(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor?, geometry: AttentionGeometry,
                          out: Tensor, rows: [Int], probabilities: Tensor?) throws {
        let g = geometry
        let plan = CPUAttentionPlan(batch: g.batch, tokens: g.tokens, heads: g.heads)
        let (pq, pk, pv) = (try host(q), try host(k), try host(v))
        var problem = vk_attention_problem(
            q: pq + g.qOffset, k: pk + g.kOffset, v: pv + g.vOffset,
            q_ld: g.rowStride, k_ld: g.rowStride, v_ld: g.rowStride, out: try host(out), out_ld: g.width,
            batch: g.batch, tokens: g.tokens, heads: g.heads, head_dim: g.headDim, scale: g.scale,
            key_mask: try keyMask.map { UnsafePointer(try host($0)) }, probability_rows: nil,
            probability_row_count: 0, probabilities: nil, query_block: plan.queryBlock,
            bf16: BF16Kernels.attentionMode(bf16: g.bf16Products))
        let level = CPUInstructionSet.current
        guard let run = vk_attention_for(level.level) else {  // never NULL (CVitreousCPU.h)
            throw VitreousError.deviceUnavailable("CPU attention: no kernel for instruction set \(level)")
        }
        try rows.withUnsafeBufferPointer { list in
            if let probabilities {
                problem.probabilities = try host(probabilities)
                problem.probability_rows = list.baseAddress
                problem.probability_row_count = list.count
            }
            let items = vk_attention_work_items(&problem)
            let bytes = vk_attention_scratch_bytes(&problem)
            let shared = problem
            parallelFor(items, grain: 1) { range in
                let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
                defer { scratch.deallocate() }
                withUnsafePointer(to: shared) { run($0, range.lowerBound, range.upperBound, scratch) }
            }
        }
    }

    /// Memory the fused attention op needs beyond its inputs and output on this backend, bytes: one scratch
    /// per core (the packed K and V of one head, one query block's rows and accumulators).
    package static func attentionScratchBytes(batch: Int = 1, tokens: Int, heads: Int, headDim: Int) -> Int {
        let plan = CPUAttentionPlan(batch: batch, tokens: tokens, heads: heads)
        var problem = vk_attention_problem()
        (problem.batch, problem.tokens, problem.heads, problem.head_dim) = (batch, tokens, heads, headDim)
        problem.query_block = plan.queryBlock
        return hostThreadCount * vk_attention_scratch_bytes(&problem)
    }
}
