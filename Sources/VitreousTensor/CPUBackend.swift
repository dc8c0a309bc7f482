import CBLAS
import CVitreousCPU
import Foundation

/// The host backend: linear layers through its own GEMM on prepacked weights (CPULinear.swift), other GEMMs
/// through OpenBLAS, the element-wise and reduction loops in C kernels; the C code dispatched by instruction
/// set (``CPUInstructionSet``), everything split over all cores.
///
/// A production path, not a fallback demo: on machines without a GPU it is the fastest way to run a ViT.
package final class CPUBackend: Backend {
    /// The one CPU backend of the process.
    package static let shared = CPUBackend()

    package var device: Device { .cpu }
    package var kind: BackendKind { .cpu(self) }

    /// Host buffer-pool counters: buffers allocated, requests served from the pool, live and peak bytes.
    package var allocationStatistics: AllocationStatistics { hostBufferPool.allocationStatistics }

    /// Releases the pooled (unused) host buffers to the system.
    package func trimBufferPool() { hostBufferPool.trim() }

    private init() {
        openblas_set_num_threads(Int32(hostThreadCount))
    }

    // MARK: Memory

    package func empty(shape: [Int]) throws -> Tensor {
        try Tensor.validate(shape: shape)
        let count = shape.reduce(1, *)
        guard UInt64(count) * 4 <= hostMemoryBytes else {
            throw VitreousError.allocationFailed(
                "\(count * 4) bytes exceed this machine's \(hostMemoryBytes) bytes of memory")
        }
        let storage = try HostStorage(count: count)
        if allocationPoisoning {
            storage.pointer.initialize(repeating: .nan, count: max(storage.count, 1))
        }
        return Tensor(shape: shape, storage: storage)
    }

    package func tensor(_ values: UnsafeBufferPointer<Float>, shape: [Int]) throws -> Tensor {
        let out = try empty(shape: shape)
        if let base = values.baseAddress {
            try host(out).update(from: base, count: min(values.count, out.count))
        }
        return out
    }

    package func read(_ tensor: Tensor, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = destination.baseAddress else { return }
        if let bf16 = tensor.storage as? BF16WeightStorage {
            let values = try HostStorage(count: bf16.count)
            bf16.unpack(into: values.pointer)
            base.update(from: values.pointer, count: min(destination.count, tensor.count))
            return
        }
        base.update(from: try host(tensor), count: min(destination.count, tensor.count))
    }

    package func synchronize() throws {}

    package func copy(_ source: Tensor, into destination: Tensor) throws {
        let (from, to) = (SendablePointer(try host(source)), SendablePointer(try host(destination)))
        let count = min(source.count, destination.count)
        // Split over cores: one thread cannot saturate memory bandwidth on most servers.
        parallelFor(count, grain: 1 << 18) { range in
            (to.base + range.lowerBound).update(from: from.base + range.lowerBound, count: range.count)
        }
    }

    /// The host pointer behind a CPU tensor.
    func host(_ tensor: Tensor) throws -> UnsafeMutablePointer<Float> {
        if tensor.storage is BF16WeightStorage {
            throw VitreousError.invalidArgument(
                "\(tensor) is a bf16 linear weight (linearWeight(_:precision:)); only linear reads it")
        }
        guard let storage = tensor.storage as? HostStorage else {
            throw VitreousError.deviceMismatch("\(tensor) given to the CPU backend")
        }
        return storage.pointer
    }

    // MARK: Linear algebra

    package func matmul(_ a: Tensor, _ b: Tensor, into c: Tensor,
                       batch: Int, m: Int, n: Int, k: Int, transposeB: Bool, shareB: Bool) throws {
        let (pa, pb, pc) = (try host(a), try host(b), try host(c))
        guard m > 0, n > 0, batch > 0 else { return }
        guard k > 0 else {
            pc.update(repeating: 0, count: batch * m * n)
            return
        }
        let transB = transposeB ? CblasTrans : CblasNoTrans
        let ldb = Int32(transposeB ? k : n)
        if shareB {
            // One matrix for every batch item: the batch folds into the rows of a single GEMM.
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transB, Int32(batch * m), Int32(n), Int32(k),
                        1, pa, Int32(k), pb, ldb, 0, pc, Int32(n))
            return
        }
        for item in 0..<batch {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transB, Int32(m), Int32(n), Int32(k),
                        1, pa + item * m * k, Int32(k), pb + item * k * n, ldb, 0, pc + item * m * n, Int32(n))
        }
    }
}
