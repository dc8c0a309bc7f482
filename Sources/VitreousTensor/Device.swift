import Foundation
import Logging

/// Where a tensor's storage lives and which backend runs operations on it.
///
/// `Device.cpu` runs on the host (its own GEMM for linear layers, OpenBLAS for matmul, C SIMD kernels for the
/// rest); `Device.openCL(n)` runs on the n-th OpenCL device of ``Device/openCLDevices`` (CLBlast GEMM, Vitreous's own kernels for the rest).
public enum Device: Hashable, Sendable, CustomStringConvertible {
    /// The host: all cores, instruction set chosen at run time.
    case cpu
    /// The OpenCL device of that index in ``Device/openCLDevices``.
    case openCL(Int)

    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .openCL(let index): return "opencl:\(index)"
        }
    }

    /// Every OpenCL device of every platform, in driver order. Empty (never a crash) without a driver.
    public static var openCLDevices: [OpenCLDeviceInfo] { OpenCLPlatforms.enumeration.devices.map(\.info) }

    /// Why ``openCLDevices`` is empty, when it is ("no OpenCL platform installed", ...).
    public static var openCLProblem: String? { OpenCLPlatforms.enumeration.problem }

    /// The CPU followed by every OpenCL device: what a test or benchmark should cover.
    public static var all: [Device] { [.cpu] + openCLDevices.map { .openCL($0.index) } }

    /// Parses `cpu`, `opencl` (the first GPU or accelerator, else the first OpenCL device) or `opencl:N`,
    /// or a fragment of an OpenCL device's name (case-insensitive).
    public static func parse(_ text: String) throws -> Device {
        let word = text.trimmingCharacters(in: .whitespaces).lowercased()
        let devices = openCLDevices
        let none = "no OpenCL device is available (\(openCLProblem ?? "none found"))"
        switch word {
        case "cpu":
            return .cpu
        case "opencl", "gpu":
            guard let first = devices.first(where: { $0.isGPU || $0.isAccelerator }) ?? devices.first else {
                throw VitreousError.deviceUnavailable(none)
            }
            return .openCL(first.index)
        default:
            if word.hasPrefix("opencl:") {
                guard let index = Int(word.dropFirst("opencl:".count)) else {
                    throw VitreousError.invalidArgument("'\(text)' is not a device; use cpu, opencl or opencl:N")
                }
                guard devices.indices.contains(index) else {
                    throw VitreousError.deviceUnavailable(devices.isEmpty ? none
                        : "opencl:\(index) does not exist; devices are opencl:0...opencl:\(devices.count - 1)")
                }
                return .openCL(index)
            }
            if !word.isEmpty, let match = devices.first(where: { $0.name.lowercased().contains(word) }) {
                return .openCL(match.index)
            }
            throw VitreousError.invalidArgument(
                "unknown device '\(text)'; use cpu, opencl, opencl:N or part of a device name")
        }
    }

    /// The device chosen when a caller names none, with the reason for the choice.
    public struct Selection: Sendable {
        /// The device chosen.
        public let device: Device
        /// Why, in a phrase (for logs and `vitreous devices`).
        public let reason: String
    }

    /// How ``default`` was chosen: `VITREOUS_DEVICE` if set and usable, else the first OpenCL GPU or
    /// accelerator, else the CPU backend (faster than a CPU OpenCL driver such as PoCL on the same cores).
    public static let defaultSelection: Selection = {
        let selection = select(environment: ProcessInfo.processInfo.environment["VITREOUS_DEVICE"])
        if selection.device == .cpu {
            Logger(label: "vitreous").notice("using the CPU backend: \(selection.reason)")
        }
        return selection
    }()

    /// The device used by operations and models when none is given. Decided once per process.
    public static var `default`: Device { defaultSelection.device }

    static func select(environment value: String?) -> Selection {
        if let value, !value.isEmpty {
            do {
                return Selection(device: try parse(value), reason: "VITREOUS_DEVICE=\(value)")
            } catch {
                let fallback = select(environment: nil)
                return Selection(device: fallback.device,
                                 reason: "VITREOUS_DEVICE=\(value) ignored (\(error)); \(fallback.reason)")
            }
        }
        let devices = openCLDevices
        if let gpu = devices.first(where: { $0.isGPU || $0.isAccelerator }) {
            return Selection(device: .openCL(gpu.index), reason: "first OpenCL \(gpu.kind): \(gpu.name)")
        }
        if devices.isEmpty {
            return Selection(device: .cpu, reason: "OpenCL unavailable (\(openCLProblem ?? "no devices"))")
        }
        return Selection(device: .cpu, reason: "only CPU OpenCL devices present; the CPU backend is faster there")
    }
}
