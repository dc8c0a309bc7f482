import CVitreousCPU
import Foundation

/// The SIMD instruction-set levels of the CPU backend's element-wise and reduction kernels (GELU, layer
/// norm, LayerScale, softmax, token norms) and of its fused attention.
///
/// One binary holds all three, compiled with per-function target attributes, never `-march=native`; the
/// highest level the CPU supports is chosen once at start-up. Set the environment variable
/// `VITREOUS_CPU_ISA` to `avx512`, `avx2` or `baseline` to force a level: an unknown value, or a level this
/// CPU lacks, makes every CPU operation throw ``VitreousError/invalidArgument(_:)`` or
/// ``VitreousError/deviceUnavailable(_:)`` naming the value. ``linear(_:weight:bias:activation:)`` runs the
/// backend's own GEMM at the chosen level; ``matmul(_:_:)`` is OpenBLAS's, which picks its kernels by itself
/// (or from `OPENBLAS_CORETYPE`).
public enum CPUInstructionSet: String, CaseIterable, Sendable, CustomStringConvertible {
    /// SSE2 on x86-64, NEON on aarch64: what every CPU of the architecture has.
    case baseline
    /// AVX2 with FMA (x86-64): 8 floats per vector.
    case avx2
    /// AVX-512F (x86-64): 16 floats per vector.
    case avx512

    /// The environment variable that forces a level.
    public static let environmentVariable = "VITREOUS_CPU_ISA"

    public var description: String { rawValue }

    var level: vk_level {
        switch self {
        case .baseline: VK_LEVEL_BASELINE
        case .avx2: VK_LEVEL_AVX2
        case .avx512: VK_LEVEL_AVX512
        }
    }

    /// The levels this CPU runs, lowest first.
    public static let supported: [CPUInstructionSet] = allCases.filter { vk_supported($0.level) != 0 }

    /// The highest level this CPU runs.
    public static var best: CPUInstructionSet { supported.last ?? .baseline }

    /// The level the CPU backend uses: `VITREOUS_CPU_ISA` when set, else ``best``.
    /// - Throws: for a value of `VITREOUS_CPU_ISA` that is not a level, or a level this CPU lacks.
    public static var active: CPUInstructionSet {
        get throws { try selection.get() }
    }

    /// Parses a `VITREOUS_CPU_ISA` value (nil or empty: ``best``).
    public static func select(_ value: String?) -> Result<CPUInstructionSet, VitreousError> {
        guard let value, !value.isEmpty else { return .success(best) }
        guard let chosen = CPUInstructionSet(rawValue: value.lowercased()) else {
            return .failure(.invalidArgument(
                "\(environmentVariable)=\(value) is not an instruction-set level; use avx512, avx2 or baseline"))
        }
        guard supported.contains(chosen) else {
            return .failure(.deviceUnavailable(
                "\(environmentVariable)=\(value): this CPU lacks \(chosen); it runs "
                    + supported.map(\.rawValue).joined(separator: ", ")))
        }
        return .success(chosen)
    }

    private static let selection = select(ProcessInfo.processInfo.environment[environmentVariable])

    /// Runs `body` with the CPU kernels of `level` on this task (tests compare the levels with it).
    static func with<R>(_ level: CPUInstructionSet, _ body: () throws -> R) rethrows -> R {
        try $forced.withValue(level, operation: body)
    }

    @TaskLocal private static var forced: CPUInstructionSet?

    /// The kernels for the calling task: a level forced by ``with(_:_:)``, else ``active`` (``best`` when
    /// the environment names a bad level: `backend(for: .cpu)` has already thrown for that).
    static var kernels: vk_kernels {
        vk_kernels_for((forced ?? (try? selection.get()) ?? best).level).pointee  // never NULL
    }

    /// The level for the calling task: a level forced by ``with(_:_:)``, else ``active`` (``best`` when the
    /// environment names a bad level), as ``kernels`` picks it.
    static var current: CPUInstructionSet { forced ?? (try? selection.get()) ?? best }
}
