import CVitreousCPU
import Foundation

/// The number format a model's linear layers (and its attention's two products) compute in.
///
/// - ``fp32``: everything in float32, the reference.
/// - ``bf16`` (CPU): the linear weights rounded to bfloat16 once, when the model loads, and packed for the GEMM in
///   half the memory; activations stay float32 between ops and are rounded to bf16 (to nearest, ties to even, as
///   PyTorch and OpenVINO round) as the GEMM and the attention read them; every product and sum is float32. Runs
///   on VDPBF16PS where the CPU has AVX512-BF16 and on an exact emulation of it elsewhere (same results, no
///   speed-up). Layer norm, softmax, GELU and SwiGLU, LayerScale and the token norms stay float32.
/// - ``fp16`` (OpenCL): the linear weights stored as IEEE half on the device, read with `vload_half`, arithmetic
///   float32 (on a device with `cl_khr_fp16`, each tile step's products summed in half unless
///   `VITREOUS_OPENCL_HALF_MATH=0`; see the "Kernels" article).
///
/// See the "Precision" article for what each costs in fidelity.
public enum Precision: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// Everything float32: the reference.
    case fp32
    /// bfloat16 operands of the linear layers and the attention's products, float32 sums (CPU).
    case bf16
    /// Half-precision storage of the linear weights, float32 arithmetic (OpenCL).
    case fp16

    /// The name `--precision` takes: `fp32`, `bf16` or `fp16`.
    public var description: String { rawValue }

    /// Whether this CPU multiplies bf16 natively (AVX512-BF16's VDPBF16PS), which is what makes ``bf16`` fast.
    public static var cpuHasNativeBF16: Bool { vk_bf16_native_supported() != 0 }

    /// The precision `auto` stands for on `device`: ``bf16`` on a CPU with native bf16 dot products, else
    /// ``fp32`` (half storage on OpenCL is never chosen by itself: see the "Precision" article).
    public static func automatic(for device: Device) -> Precision {
        device == .cpu && cpuHasNativeBF16 ? .bf16 : .fp32
    }

    /// Parses `fp32`, `bf16`, `fp16` or `auto` (case-insensitive) for a model on `device`, and checks that the
    /// device runs it.
    /// - Throws: ``VitreousError/invalidArgument(_:)`` naming the text for an unknown name or a precision the
    ///   device does not offer.
    public static func parse(_ text: String, for device: Device) throws -> Precision {
        let word = text.trimmingCharacters(in: .whitespaces).lowercased()
        let precision: Precision
        if word == "auto" {
            precision = automatic(for: device)
        } else if let named = Precision(rawValue: word) {
            precision = named
        } else {
            throw VitreousError.invalidArgument("'\(text)' is not a precision; use fp32, bf16, fp16 or auto")
        }
        try precision.check(on: device)
        return precision
    }

    /// Throws unless `device` runs this precision: ``bf16`` is the CPU's, ``fp16`` OpenCL's.
    public func check(on device: Device) throws {
        switch (self, device) {
        case (.fp32, _), (.bf16, .cpu), (.fp16, .openCL): return
        case (.bf16, .openCL):
            throw VitreousError.invalidArgument(
                "bf16 runs on the CPU backend; on \(device) use fp16 (half storage) or fp32")
        case (.fp16, .cpu):
            throw VitreousError.invalidArgument(
                "fp16 is half storage on OpenCL devices; on the CPU use bf16 or fp32")
        }
    }

    /// `values` rounded to the nearest bf16 (ties to even) as the CPU's bf16 path rounds them, as floats.
    public static func roundedToBF16(_ values: [Float]) -> [Float] { values.map(vk_bf16_round_float) }

    /// The name of the kernel that runs this precision's products on the CPU: `avx512bf16` for VDPBF16PS, else
    /// the instruction-set level that emulates it; nil for ``fp32`` and ``fp16``.
    public static func cpuKernelName(for precision: Precision) -> String? {
        guard precision == .bf16 else { return nil }
        return String(cString: BF16Kernels.current.name)
    }
}

/// Chooses the bf16 GEMM for the calling task: VDPBF16PS at the AVX-512 level when the CPU has it, unless
/// `VITREOUS_CPU_BF16=emulated` (or a test) asks for the emulation.
enum BF16Kernels {
    /// The environment variable that picks `native` (the default) or `emulated` bf16 products.
    static let environmentVariable = "VITREOUS_CPU_BF16"

    /// Parses a `VITREOUS_CPU_BF16` value (nil or empty: native).
    static func select(_ value: String?) -> Result<Bool, VitreousError> {
        switch value?.lowercased() {
        case nil, "", "native": return .success(true)
        case "emulated": return .success(false)
        case let other?:
            return .failure(.invalidArgument("\(environmentVariable)=\(other) is not a bf16 kernel; use native or emulated"))
        }
    }

    static let selection = select(ProcessInfo.processInfo.environment[environmentVariable])

    @TaskLocal static var forcedNative: Bool?

    /// Runs `body` with the native (true) or emulated bf16 kernels on this task.
    static func with<R>(native: Bool, _ body: () throws -> R) rethrows -> R {
        try $forcedNative.withValue(native, operation: body)
    }

    /// Whether the calling task asks for VDPBF16PS (used where the level is AVX-512 and the CPU has it).
    static var wantsNative: Bool { forcedNative ?? ((try? selection.get()) ?? true) }

    /// The bf16 GEMM for the calling task's instruction-set level.
    static var current: vk_gemm_bf16_kernels {
        vk_gemm_bf16_kernels_for(CPUInstructionSet.current.level, wantsNative ? 1 : 0).pointee  // never NULL
    }

    /// `vk_attention_problem.bf16` for a problem in `precision`: 2 (VDPBF16PS where present), 1 (emulated), 0.
    static func attentionMode(bf16: Bool) -> Int32 { bf16 ? (wantsNative ? 2 : 1) : 0 }
}
