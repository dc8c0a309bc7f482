import CVitreousCPU
import Foundation

/// A linear layer's weight `[n, k]` packed into the panels of one level's GEMM (`vk_gemm_kernels.pack_b`).
///
/// Why the CPU backend runs its own GEMM for linear layers rather than OpenBLAS: OpenBLAS repacks the constant
/// weight on every call, needs a second pass over the output for bias and GELU, and picks its kernels from
/// `OPENBLAS_CORETYPE` when that is set (Haswell's AVX2 kernels on an AVX-512 CPU run at half speed). The
/// GEMM of CVitreousCPU dispatches on ``CPUInstructionSet`` like the other kernels, reads the weight packed
/// once, and applies bias and GELU to each tile of the output while it is in registers.
///
/// Memory: one packed copy per weight used by ``linear(_:weight:bias:activation:)`` on the CPU
/// (`⌈n / nr⌉ · nr · k` floats, nr = 32 on AVX-512: about the weight's own size), kept as long as the weight.
final class PackedWeight: @unchecked Sendable {  // written once in init, read-only afterwards
    /// Guards every `HostStorage.packedWeight`.
    static let lock = NSLock()

    let level: CPUInstructionSet
    let n: Int
    let k: Int
    let pointer: UnsafeMutablePointer<Float>

    /// Packs `weight` (`[n, k]`, row-major) for `level`.
    init(_ weight: UnsafePointer<Float>, n: Int, k: Int, level: CPUInstructionSet) throws {
        let gemm = vk_gemm_kernels_for(level.level).pointee
        let count = (n + gemm.nr - 1) / gemm.nr * gemm.nr * k
        guard let raw = aligned_alloc(64, (max(count, 1) * 4 + 63) / 64 * 64) else {  // size: a multiple of 64
            throw VitreousError.allocationFailed("\(count * 4) bytes for a packed \(n)×\(k) weight")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        (self.level, self.n, self.k) = (level, n, k)
        // Rows p… of an [n, k] weight pack into panels p / nr… on their own: split over the cores by panels.
        let (source, target, nr) = (SendablePointer(weight), SendablePointer(pointer), gemm.nr)
        parallelFor((n + nr - 1) / nr, grain: max(1, 65_536 / max(k * nr, 1))) { panels in
            let first = panels.lowerBound * nr, rows = min(n, panels.upperBound * nr) - first
            gemm.pack_b(source.base + first * k, 1, rows, k, target.base + first * k)
        }
    }

    deinit { free(pointer) }

    /// The packed form of `storage` as an `[n, k]` weight for `level`, packing it on first use (again when a
    /// test runs another level on the same weight).
    static func of(_ storage: HostStorage, n: Int, k: Int, level: CPUInstructionSet) throws -> PackedWeight {
        try lock.withLock {
            if let packed = storage.packedWeight, packed.level == level, packed.n == n, packed.k == k { return packed }
            let packed = try PackedWeight(storage.pointer, n: n, k: k, level: level)
            storage.packedWeight = packed
            return packed
        }
    }
}

extension CPUBackend {
    /// `out = act(x · weightᵀ + bias)` for `rows` rows: the GEMM of CVitreousCPU on the weight packed once,
    /// bias and activation fused into it, split over the cores by rows (by column panels too when there are
    /// fewer than two register tiles of rows per core). A weight converted by ``linearWeight(_:precision:)`` to
    /// bf16 runs the bf16 GEMM (CPULinearBF16.swift).
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation, rows m: Int, outFeatures n: Int,
                inFeatures k: Int, out: Tensor) throws {
        let pa = SendablePointer(try host(x)), pc = SendablePointer(try host(out))
        let pbias = try bias.map { SendablePointer(try host($0)) }
        guard m > 0, n > 0 else { return }
        let gelu: Int32 = activation == .gelu ? 1 : 0
        if let bf16 = weight.storage as? BF16WeightStorage {
            let gemm = BF16Kernels.current
            let packed = try bf16.packed(nr: gemm.nr)
            let pb = SendablePointer(UnsafePointer(packed.words))
            try Self.splitLinear(m: m, n: n, k: k, mr: gemm.mr, nr: gemm.nr, scratchBytes: gemm.scratch_bytes) {
                rows, columns, scratch in
                gemm.gemm(pa.base + rows.lowerBound * k, k, pb.base, rows.count, n, k, columns.lowerBound,
                          columns.upperBound, pbias?.base, gelu, pc.base + rows.lowerBound * n, n, scratch)
            }
            withExtendedLifetime(packed) {}
            return
        }
        guard let storage = weight.storage as? HostStorage else {
            throw VitreousError.deviceMismatch("\(weight) given to the CPU backend")
        }
        let level = CPUInstructionSet.current
        let gemm = vk_gemm_kernels_for(level.level).pointee
        let packed = try PackedWeight.of(storage, n: n, k: k, level: level)
        let pb = SendablePointer(UnsafePointer(packed.pointer))
        try Self.splitLinear(m: m, n: n, k: k, mr: gemm.mr, nr: gemm.nr, scratchBytes: gemm.scratch_floats * 4) {
            rows, columns, scratch in
            gemm.gemm(pa.base + rows.lowerBound * k, k, pb.base, rows.count, n, k, columns.lowerBound,
                      columns.upperBound, pbias?.base, gelu, pc.base + rows.lowerBound * n, n,
                      scratch.assumingMemoryBound(to: Float.self))
        }
        withExtendedLifetime(packed) {}
    }

    /// Splits an m × n × k GEMM with `mr` × `nr` register tiles over the cores and runs `body` on each chunk's
    /// rows and columns (first column a multiple of `nr`) with its own `scratchBytes` of 64-byte aligned scratch.
    static func splitLinear(m: Int, n: Int, k: Int, mr: Int, nr: Int, scratchBytes: Int,
                            _ body: (Range<Int>, Range<Int>, UnsafeMutableRawPointer) -> Void)
        throws {
        let panels = (n + nr - 1) / nr
        // Below ~4 MFLOP a second thread costs more than it saves.
        let threads = 2 * m * n * k < 4_000_000 ? 1 : hostThreadCount
        let tiles = (m + mr - 1) / mr
        // Rows first: each worker then packs only its own rows of A and all read the one packed weight (shared
        // in L3). Splitting columns made every worker pack all of A: 15–18 % more CPU time per ViT-S pass
        // (Benchmarks/HISTORY.md). Columns only when there are too few rows to go round.
        let columnChunks = tiles >= 2 * threads ? 1 : min(panels, threads)
        let rowChunks = min(max(1, threads / columnChunks), tiles)
        let chunks = rowChunks * columnChunks
        let stride = (max(scratchBytes, 64) + 63) / 64 * 64
        let scratch = try HostStorage(count: chunks * stride / 4)
        let base = SendablePointer(scratch.pointer)
        parallelFor(chunks, grain: 1) { range in
            for chunk in range {
                let (rowChunk, columnChunk) = chunk.quotientAndRemainder(dividingBy: columnChunks)
                // Even row chunks: each ends in a partial tile, which the GEMM runs with fewer register rows
                // (257 rows on two cores: 9 tiles + 2 rows and 9 tiles + 3, not 9 and 10 whole tiles).
                let firstRow = m * rowChunk / rowChunks, lastRow = m * (rowChunk + 1) / rowChunks
                let firstColumn = panels * columnChunk / columnChunks * nr
                let lastColumn = min(n, panels * (columnChunk + 1) / columnChunks * nr)
                body(firstRow..<lastRow, firstColumn..<lastColumn,
                     UnsafeMutableRawPointer(base.base) + chunk * stride)
            }
        }
        withExtendedLifetime(scratch) {}
    }
}
