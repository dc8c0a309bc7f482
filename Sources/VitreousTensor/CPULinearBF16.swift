import CVitreousCPU
import Foundation

/// A linear layer's weight `[n, k]` held only in bf16, packed for the bf16 GEMM (``linearWeight(_:precision:)``
/// makes it): half the memory of the float32 weight, which is not kept.
///
/// Its values read back (``Tensor/toArray()``) as the bf16-rounded floats the GEMM multiplies by; every op other
/// than ``linear(_:weight:bias:activation:)`` refuses it with an error that says so.
final class BF16WeightStorage: TensorStorage, @unchecked Sendable {  // `packed` behind PackedWeight.lock
    let n: Int
    let k: Int
    var count: Int { n * k }
    var device: Device { .cpu }
    /// Packed for the `nr` of the level last used; repacked (from its own exact values) for another level.
    private var packedForm: BF16PackedWeight

    init(_ weight: UnsafePointer<Float>, n: Int, k: Int) throws {
        (self.n, self.k) = (n, k)
        packedForm = try BF16PackedWeight(weight, n: n, k: k, kernels: BF16Kernels.current)
    }

    /// The weight packed for the GEMM whose panels are `nr` columns wide.
    func packed(nr: Int) throws -> BF16PackedWeight {
        try PackedWeight.lock.withLock {
            if packedForm.nr == nr { return packedForm }
            let values = try HostStorage(count: count)
            packedForm.unpack(into: values.pointer)
            packedForm = try BF16PackedWeight(values.pointer, n: n, k: k, kernels: BF16Kernels.current)
            return packedForm
        }
    }

    /// Writes the weight's values (exactly its bf16 values, as floats) to `destination`.
    func unpack(into destination: UnsafeMutablePointer<Float>) {
        PackedWeight.lock.withLock { packedForm.unpack(into: destination) }
    }
}

/// The words of one bf16-packed weight (`vk_gemm_bf16_kernels.pack_b`), 64-byte aligned.
final class BF16PackedWeight: @unchecked Sendable {  // written once in init, read-only afterwards
    let nr: Int
    let n: Int
    let k: Int
    let words: UnsafeMutablePointer<UInt32>

    init(_ weight: UnsafePointer<Float>, n: Int, k: Int, kernels: vk_gemm_bf16_kernels) throws {
        let pairs = (k + 1) / 2
        let count = (n + kernels.nr - 1) / kernels.nr * kernels.nr * pairs
        guard let raw = aligned_alloc(64, (max(count, 1) * 4 + 63) / 64 * 64) else {
            throw VitreousError.allocationFailed("\(count * 4) bytes for a bf16 \(n)×\(k) weight")
        }
        words = raw.bindMemory(to: UInt32.self, capacity: max(count, 1))
        (self.nr, self.n, self.k) = (kernels.nr, n, k)
        // Panels pack on their own: split over the cores by panels, as the float32 packing is.
        let (source, target, nr) = (SendablePointer(weight), SendablePointer(words), kernels.nr)
        parallelFor((n + nr - 1) / nr, grain: max(1, 65_536 / max(pairs * nr, 1))) { panels in
            let first = panels.lowerBound * nr, rows = min(n, panels.upperBound * nr) - first
            kernels.pack_b(source.base + first * k, rows, k, target.base + first * pairs)
        }
    }

    deinit { free(words) }

    func unpack(into destination: UnsafeMutablePointer<Float>) {
        vk_gemm_bf16_unpack_b(words, nr, n, k, destination)
    }
}

extension CPUBackend {
    /// `weight` `[n, k]` rounded to bf16 and packed for the bf16 GEMM, in a tensor of its own.
    func bf16LinearWeight(_ weight: Tensor, n: Int, k: Int) throws -> Tensor {
        let storage = try BF16WeightStorage(try host(weight), n: n, k: k)
        return Tensor(shape: [n, k], storage: storage)
    }
}
