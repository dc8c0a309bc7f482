import Foundation

// The declarations every OpenCL op is made of, in the split CLBlast uses (routine / kernel / database): a
// `KernelProgram` is one file of `Kernels/` with the tunables it is compiled with, an `OpenCLKernel` one function
// in it, a `KernelTunable` one `-D` value with its defaults per device class. Each op declares its own beside its
// launcher (`OpenCLLayerNorm.swift`, `OpenCLSoftmax.swift`, ...); nothing is looked up by name at run time.

/// The kinds of OpenCL device whose tunables default differently. The class of a device comes from its type
/// and vendor, or from a `gpu` / `gpu=NAME` entry of `VITREOUS_OPENCL_TUNING`, which picks a GPU class on any
/// device so the tests exercise the GPU code paths (big work-groups, local-memory reductions, scalar attention)
/// on PoCL too (`init(_:overrides:)` in OpenCLGPUDefaults.swift).
enum OpenCLDeviceClass: String, Sendable {
    /// A CPU driver such as PoCL: it vectorises across the work-items of a group and runs one group per core
    /// thread, so it wants small groups.
    case cpu
    /// A CPU driver whose device has AVX-512 (PoCL puts the target in the device name): twice the lanes.
    case cpuAVX512
    /// A GPU or accelerator of a vendor without its own table: a group per row, wide enough to fill a SIMD
    /// unit several times.
    case gpu
    /// NVIDIA, AMD and Intel GPUs: the generic GPU layout with the vendor's values of ``OpenCLGPUDefaults``.
    case nvidia, amd, intel
}

/// One `-D` value a kernel program is compiled with (or a launcher computes with): its name, as in the `.cl`
/// source and in `VITREOUS_OPENCL_TUNING`, and its default on each device class.
struct KernelTunable: Hashable, Sendable {
    let name: String
    let cpu: Int
    let cpuAVX512: Int
    let gpu: Int
    /// A work-group size: halved until the device accepts it.
    let isWorkGroupSize: Bool
    /// Whether `VITREOUS_OPENCL_TUNING` may set it (powers of two only).
    let isOverridable: Bool

    init(_ name: String, cpu: Int, cpuAVX512: Int? = nil, gpu: Int, workGroupSize: Bool = false,
         overridable: Bool = true) {
        self.name = name
        self.cpu = cpu
        self.cpuAVX512 = cpuAVX512 ?? cpu
        self.gpu = gpu
        isWorkGroupSize = workGroupSize
        isOverridable = overridable
    }

    func defaultValue(on deviceClass: OpenCLDeviceClass) -> Int {
        switch deviceClass {
        case .cpu: return cpu
        case .cpuAVX512: return cpuAVX512
        case .gpu: return gpu
        case .nvidia, .amd, .intel: return OpenCLGPUDefaults.value(of: name, on: deviceClass) ?? gpu
        }
    }
}

/// One file of `Kernels/`: its embedded source and the `-D` options it is built with, each the device's value
/// of a tunable.
struct KernelProgram: Hashable, Sendable {
    /// The file name without `.cl`, also the name `VITREOUS_KERNEL_DIR` reads and the cache's file prefix.
    let file: String
    let source: String
    /// `-DNAME=value` in this order, after `-cl-std=CL1.2`. A define may use another name for a shared
    /// tunable (tokens.cl's `TOK_WG` is the element-wise group size).
    let defines: [(name: String, tunable: KernelTunable)]

    init(file: String, source: String, defines: [(name: String, tunable: KernelTunable)]) {
        self.file = file
        self.source = source
        self.defines = defines
    }

    init(file: String, source: String, tunables: [KernelTunable]) {
        self.init(file: file, source: source, defines: tunables.map { ($0.name, $0) })
    }

    static func == (a: KernelProgram, b: KernelProgram) -> Bool { a.file == b.file }
    func hash(into hasher: inout Hasher) { hasher.combine(file) }

    /// Every program, for the tests that build each one and check the embedded copies against `Kernels/`.
    static let all: [KernelProgram] = [.attention, .attentionStatistics, .elementwise, .layerNorm, .linearHalf,
                                       .registers, .rope, .softmax, .tokenNorms, .tokens]
}

/// One kernel function of a program.
struct OpenCLKernel: Sendable {
    let program: KernelProgram
    /// The `__kernel` function's name in the program.
    let function: String

    init(_ program: KernelProgram, _ function: String) {
        self.program = program
        self.function = function
    }
}

/// The value of every tunable on one device: its class's default, then `VITREOUS_OPENCL_TUNING`'s `NAME=VALUE`
/// entries (powers of two; other entries such as `gpu` or `gpu=nvidia` only choose the class), then work-group sizes halved until the
/// device takes them.
struct OpenCLTuning: Sendable {
    let deviceClass: OpenCLDeviceClass
    /// The device's local memory, which bounds the attention key tile.
    let localMemoryBytes: Int
    private let maxWorkGroupSize: Int
    private let overrides: [String: Int]

    init(device: OpenCLDeviceInfo) {
        self.init(device: device, overrides: ProcessInfo.processInfo.environment["VITREOUS_OPENCL_TUNING"] ?? "")
    }

    init(device: OpenCLDeviceInfo, overrides text: String) {
        let entries = text.split(whereSeparator: { $0 == " " || $0 == "," })
        deviceClass = OpenCLDeviceClass(device, overrides: entries)
        localMemoryBytes = Int(min(device.localMemoryBytes, UInt64(Int32.max)))
        maxWorkGroupSize = max(1, device.maxWorkGroupSize)
        var overrides: [String: Int] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int(parts[1]), value > 0, value & (value - 1) == 0 else { continue }
            overrides[String(parts[0])] = value
        }
        self.overrides = overrides
    }

    /// The device's value of `tunable`.
    subscript(tunable: KernelTunable) -> Int {
        var value = tunable.defaultValue(on: deviceClass)
        if tunable.isOverridable, let override = overrides[tunable.name] { value = override }
        if tunable.isWorkGroupSize {
            while value > maxWorkGroupSize { value /= 2 }
        }
        return value
    }

    /// The build options of `program` on this device.
    func options(for program: KernelProgram) -> String {
        "-cl-std=CL1.2 " + program.defines.map { "-D\($0.name)=\(self[$0.tunable])" }.joined(separator: " ")
    }
}
