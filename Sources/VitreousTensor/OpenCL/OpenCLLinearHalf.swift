import COpenCL
import Foundation

// The linear layer on a weight stored as half (`--precision fp16`): `Kernels/linear_half.cl`, its storage and
// its launcher.

extension KernelTunable {
    /// linear_half.cl's tile of C per work-group (`LH_TM` rows × `LH_TN` columns), its depth in k (`LH_TK`) and the
    /// outputs per work-item (`LH_WM` × `LH_WN`). CPU drivers (PoCL) run a group's items as SIMD lanes over the
    /// columns: 8 items across (16 with AVX-512) fill a vector register with one tile row. GPUs: 16 × 16 items of
    /// 4 × 4 outputs over a 64 × 64 tile, the shape of CLBlast's Xgemm defaults (`MWG`/`NWG` 64, `KWG` 16).
    static let halfLinearRows = KernelTunable("LH_TM", cpu: 32, gpu: 64)
    static let halfLinearColumns = KernelTunable("LH_TN", cpu: 32, cpuAVX512: 64, gpu: 64)
    static let halfLinearDepth = KernelTunable("LH_TK", cpu: 32, gpu: 16)
    static let halfLinearItemRows = KernelTunable("LH_WM", cpu: 4, gpu: 4)
    static let halfLinearItemColumns = KernelTunable("LH_WN", cpu: 4, gpu: 4)
}

extension KernelProgram {
    static let linearHalf = KernelProgram(
        file: "linear_half", source: KernelSources.linear_half,
        tunables: [.halfLinearRows, .halfLinearColumns, .halfLinearDepth, .halfLinearItemRows, .halfLinearItemColumns])
}

extension OpenCLKernel {
    static let linearHalf = OpenCLKernel(.linearHalf, "linear_half")
    static let toHalf = OpenCLKernel(.linearHalf, "to_half")
    static let fromHalf = OpenCLKernel(.linearHalf, "from_half")
}

/// A linear layer's weight `[n, k]` held only as IEEE half on an OpenCL device (``linearWeight(_:precision:)``
/// makes it): half the memory of the float32 weight, which is not kept.
///
/// Its values read back (``Tensor/toArray()``) as the half-rounded floats the kernel multiplies by; every op
/// other than ``linear(_:weight:bias:activation:)`` refuses it with an error that says so.
final class HalfWeightStorage: TensorStorage, @unchecked Sendable {  // immutable; contents per TensorStorage
    let n: Int
    let k: Int
    var count: Int { n * k }
    var device: Device { halves.device }
    /// A pooled device buffer of ⌈n·k / 2⌉ floats that holds the n·k halves, row-major.
    let halves: Tensor

    init(n: Int, k: Int, halves: Tensor) {
        (self.n, self.k, self.halves) = (n, k, halves)
    }
}

extension OpenCLBackend {
    /// The environment variable that turns the half-arithmetic variant off (`0`) on devices with `cl_khr_fp16`.
    static let halfMathVariable = "VITREOUS_OPENCL_HALF_MATH"

    /// Whether the half-weight linear kernel sums its products in half: only where the device reports
    /// `cl_khr_fp16`, and not when `VITREOUS_OPENCL_HALF_MATH=0`.
    package var halfLinearUsesHalfMath: Bool {
        info.supportsFP16 && ProcessInfo.processInfo.environment[Self.halfMathVariable] != "0"
    }

    /// `weight` `[n, k]` stored as half on the device for the half-weight linear kernel, rounded to nearest with
    /// ties to even by `vstore_half_rte`.
    func halfLinearWeight(_ weight: Tensor, n: Int, k: Int) throws -> Tensor {
        let count = n * k
        let halves = try empty(shape: [(count + 1) / 2])
        try launch(.toHalf, global: count, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(weight)), .buffer(try buffer(halves)), .int(count)])
        return Tensor(shape: [n, k], storage: HalfWeightStorage(n: n, k: k, halves: halves))
    }

    /// The half weight's values widened to float32, in a new tensor.
    func halfWeightValues(_ weight: HalfWeightStorage) throws -> Tensor {
        let values = try empty(shape: [weight.count])
        try launch(.fromHalf, global: weight.count, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(weight.halves)), .buffer(try buffer(values)), .int(weight.count)])
        return values
    }

    /// `out [rows, n] = act(x [rows, k] · weightᵀ + bias)` with the half weight, float32 sums (see linear_half.cl).
    func halfLinear(_ x: Tensor, weight: HalfWeightStorage, bias: Tensor?, activation: Activation, rows: Int,
                    outFeatures: Int, inFeatures: Int, out: Tensor) throws {
        guard weight.n == outFeatures, weight.k == inFeatures else {
            throw VitreousError.shapeMismatch(
                "linear: the fp16 weight holds [\(weight.n), \(weight.k)] but was reshaped to "
                    + "[\(outFeatures), \(inFeatures)]")
        }
        let layout = try halfLinearLayout()
        let groups = ((rows + layout.rows - 1) / layout.rows) * ((outFeatures + layout.columns - 1) / layout.columns)
        try launch(.linearHalf, defines: halfLinearUsesHalfMath ? "-DLH_HALF_MATH=1" : "",
                   global: groups * layout.items, local: layout.items,
                   [.buffer(try buffer(x)), .buffer(try buffer(weight.halves)), .buffer(try bias.map(buffer)),
                    .buffer(try buffer(out)), .int(rows), .int(outFeatures), .int(inFeatures),
                    .int(bias == nil ? 0 : 1), .int(activation.rawValue)])
    }

    /// The tile of C per group and the items per group, after checking that the tunables fit the device.
    private func halfLinearLayout() throws -> (rows: Int, columns: Int, items: Int) {
        try Self.halfLinearLayout(programs.tuning, maxWorkGroupSize: info.maxWorkGroupSize, device: info.name)
    }

    /// The layout `tuning` gives linear_half on a device with this work-group limit, or the error naming the
    /// tunables that do not fit it.
    static func halfLinearLayout(_ tuning: OpenCLTuning, maxWorkGroupSize: Int,
                                 device: String) throws -> (rows: Int, columns: Int, items: Int) {
        let (tm, tn, tk) = (tuning[.halfLinearRows], tuning[.halfLinearColumns], tuning[.halfLinearDepth])
        let (wm, wn) = (tuning[.halfLinearItemRows], tuning[.halfLinearItemColumns])
        guard tm % wm == 0, tn % wn == 0 else {
            throw VitreousError.invalidArgument(
                "VITREOUS_OPENCL_TUNING: LH_TM=\(tm) and LH_TN=\(tn) must be multiples of LH_WM=\(wm) and LH_WN=\(wn)")
        }
        let items = (tm / wm) * (tn / wn)
        let tileBytes = (tm + tn) * tk * 4
        guard items <= maxWorkGroupSize, tileBytes <= tuning.localMemoryBytes else {
            throw VitreousError.invalidArgument(
                "linear_half: \(items) items and \(tileBytes) bytes of tiles (LH_TM \(tm), LH_TN \(tn), LH_TK \(tk), "
                    + "LH_WM \(wm), LH_WN \(wn)) exceed \(device)'s \(maxWorkGroupSize) items and "
                    + "\(tuning.localMemoryBytes) bytes; set smaller ones in VITREOUS_OPENCL_TUNING")
        }
        return (tm, tn, items)
    }
}
