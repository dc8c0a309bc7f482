import COpenCL
import Foundation

/// One argument of a kernel launch.
enum KernelArgument {
    case buffer(cl_mem?)
    case int(Int32)
    case float(Float)
    /// Dynamically sized `__local` memory of this many bytes.
    case local(Int)

    static func int(_ value: Int) -> KernelArgument { .int(Int32(value)) }
}

/// Compiles Vitreous's kernel programs for one device, once, and keeps them.
///
/// Built programs are cached in memory and on disk (binaries keyed by device name, driver version,
/// build options and source), so a new process skips the compiler. `VITREOUS_KERNEL_CACHE` names the
/// cache folder (`off` disables it); the default is `$XDG_CACHE_HOME/vitreous/kernels` or
/// `~/.cache/vitreous/kernels`. `VITREOUS_KERNEL_DIR` makes the library read `NAME.cl` from that folder
/// instead of its embedded copies: for editing kernels without rebuilding.
final class OpenCLPrograms: @unchecked Sendable {  // mutable caches behind `lock`
    private let context: cl_context
    private let handle: OpenCLDeviceHandle
    private let lock = NSLock()
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]
    /// `-D` definitions per program, chosen for the device (see ``OpenCLTuning``).
    let tuning: OpenCLTuning

    init(context: cl_context, handle: OpenCLDeviceHandle, tuning: OpenCLTuning) {
        self.context = context
        self.handle = handle
        self.tuning = tuning
    }

    deinit {
        for kernel in kernels.values { clReleaseKernel(kernel) }
        for program in programs.values { clReleaseProgram(program) }
    }

    /// The kernel `name` from program file `program` (`layernorm`, `token_norms`, ...), built on first use.
    /// `defines` (`-DHEAD_DIM=64`) are added to the device's options and make a separate variant of the program.
    /// Builds happen under the lock: each variant compiles once even when several threads ask at once.
    /// Callers must hold the backend's launch lock: OpenCL kernel objects are not safe to set up concurrently.
    func kernel(_ name: String, in program: String, defines: String = "") throws -> cl_kernel {
        try lock.withLock {
            let key = program + defines + "/" + name
            if let cached = kernels[key] { return cached }
            let built: cl_program
            if let cached = programs[program + defines] {
                built = cached
            } else {
                let options = tuning.options(for: program) + (defines.isEmpty ? "" : " " + defines)
                built = try build(name: program, source: try Self.source(of: program), options: options)
                programs[program + defines] = built
            }
            var status: cl_int = 0
            guard let kernel = clCreateKernel(built, name, &status), status == CL_SUCCESS else {
                throw VitreousError.openCL(status: status, name: openCLStatusName(status),
                                           operation: "clCreateKernel(\(name))")
            }
            kernels[key] = kernel
            return kernel
        }
    }

    static func source(of name: String) throws -> String {
        if let folder = ProcessInfo.processInfo.environment["VITREOUS_KERNEL_DIR"], !folder.isEmpty {
            let path = (folder as NSString).appendingPathComponent(name + ".cl")
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw VitreousError.invalidArgument("VITREOUS_KERNEL_DIR: cannot read \(path): \(error)")
            }
        }
        guard let embedded = KernelSources.all[name] else {
            throw VitreousError.invalidArgument("no kernel program named '\(name)'")
        }
        return embedded
    }

    /// Builds `source` for this device, from the disk cache when a binary for the same key exists.
    /// - Throws: ``VitreousError/kernelBuildFailed(program:device:log:)`` with the driver's build log.
    func build(name: String, source: String, options: String) throws -> cl_program {
        if let injected = OpenCLFaults.take(.build, name) {
            throw VitreousError.kernelBuildFailed(program: name, device: handle.info.name,
                                                  log: "(injected fault: \(openCLStatusName(injected)))")
        }
        let cacheFile = Self.cacheFolder().map {
            $0.appendingPathComponent("\(name)-\(cacheKey(source: source, options: options)).bin")
        }
        if let cacheFile, let binary = try? Data(contentsOf: cacheFile),
           let program = try? buildFromBinary(binary, options: options) {
            return program
        }
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            return clCreateProgramWithSource(context, 1, &pointer, nil, &status)
        }
        guard status == CL_SUCCESS, let program else {
            throw VitreousError.openCL(status: status, name: openCLStatusName(status),
                                       operation: "clCreateProgramWithSource(\(name))")
        }
        var device: cl_device_id? = handle.device
        let buildStatus = clBuildProgram(program, 1, &device, options, nil, nil)
        guard buildStatus == CL_SUCCESS else {
            let log = buildLog(program)
            clReleaseProgram(program)
            throw VitreousError.kernelBuildFailed(
                program: name, device: handle.info.name,
                log: log.isEmpty ? "(no build log; status \(openCLStatusName(buildStatus)))" : log)
        }
        if let cacheFile { storeBinary(of: program, at: cacheFile) }
        return program
    }

    private func buildFromBinary(_ binary: Data, options: String) throws -> cl_program {
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var device: cl_device_id? = handle.device
        let program: cl_program? = binary.withUnsafeBytes { raw in
            var length = raw.count
            var pointer: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
            return clCreateProgramWithBinary(context, 1, &device, &length, &pointer, &binaryStatus, &status)
        }
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS, let program else {
            throw VitreousError.openCL(status: status, name: openCLStatusName(status), operation: "binary")
        }
        guard clBuildProgram(program, 1, &device, options, nil, nil) == CL_SUCCESS else {
            clReleaseProgram(program)
            throw VitreousError.openCL(status: CL_INVALID_BINARY, name: "CL_INVALID_BINARY", operation: "binary")
        }
        return program
    }

    private func storeBinary(of program: cl_program, at file: URL) {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES),
                               MemoryLayout<Int>.size, &size, nil) == CL_SUCCESS, size > 0 else { return }
        var bytes = [UInt8](repeating: 0, count: size)
        let ok = bytes.withUnsafeMutableBufferPointer { buffer -> Bool in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
                                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil) == CL_SUCCESS
        }
        guard ok else { return }
        // Write to a unique temporary name, then rename: readers never see half a binary.
        let folder = file.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString)")
        do {
            try Data(bytes).write(to: temporary)
            if rename(temporary.path, file.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
        }
    }

    private func buildLog(_ program: cl_program) -> String {
        OpenCLPlatforms.infoString {
            clGetProgramBuildInfo(program, handle.device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), $0, $1, $2)
        }
    }

    private func cacheKey(source: String, options: String) -> String {
        // FNV-1a over everything that changes the binary; collisions only cost a rebuild check.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in [handle.info.platformName, handle.info.name, handle.info.driverVersion, options, source] {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            hash ^= 0xff
        }
        return String(hash, radix: 16)
    }

    static func cacheFolder() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["VITREOUS_KERNEL_CACHE"] {
            return explicit == "off" || explicit.isEmpty ? nil : URL(fileURLWithPath: explicit)
        }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("vitreous/kernels")
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/vitreous/kernels")
    }
}

/// Launch shapes and `-D` tunables per device. CPU OpenCL drivers (PoCL) vectorise across work-items
/// inside a work-group and run one group per core thread, so they want small groups; GPUs want a
/// group per row wide enough to fill a SIMD unit several times.
struct OpenCLTuning: Sendable {
    var layerNormGroup: Int
    var normGroup: Int
    var statsGroup: Int
    var softmaxGroup: Int
    var elementwiseGroup: Int
    /// attention.cl: work-items per group (`ATT_WG`), query rows per vector (`ATT_VEC`), vectors of rows per
    /// work-item (`ATT_ROWS`), keys per tile at most (`ATT_KT`, lowered for big head dims by
    /// ``attentionDefines(headDim:)``), full unrolling of the head-dim loops (`ATT_UNROLL`), and the
    /// probability pass's group (`ATT_PROB_WG`).
    var attentionGroup: Int
    var attentionRows: Int
    var attentionVector: Int
    var attentionKeyTile: Int
    var attentionUnroll: Bool
    var probabilityGroup: Int
    /// The device's local memory, which bounds the attention key tile.
    var localMemoryBytes: Int
    /// registers.cl's work-group (`SHIFT_WG`).
    var shiftGroup: Int
    /// Width of vector loads in row kernels (`LN_VEC`): 8 on CPUs (one AVX register), 4 on GPUs (16-byte loads).
    var vectorWidth: Int

    init(device: OpenCLDeviceInfo) {
        let overrides = Self.entries(of: ProcessInfo.processInfo.environment["VITREOUS_OPENCL_TUNING"] ?? "")
        // A GPU family's layout (OpenCLGPUDefaults.swift); `gpu` or `gpu=NAME` in the overrides picks one on any
        // device: the tests run them on PoCL so that the GPU code paths (big work-groups, local-memory
        // reductions, scalar attention) are exercised without a GPU.
        let family = OpenCLDeviceFamily(device: device, overrides: overrides)
        if family == .cpu {
            layerNormGroup = 1
            normGroup = 1
            statsGroup = 16
            softmaxGroup = 16
            elementwiseGroup = 64
            // PoCL runs a group per core thread. One item per group: with more, PoCL moves its work-item loop
            // inside the kernel's loops and keeps the scores in memory instead of registers (measured slower).
            // The item holds 2 × 16 query rows in the lanes of AVX-512 vectors and 16 keys' scores fill half
            // the vector registers; rolled head-dim loops measured 1.7× faster than unrolled ones (PoCL 3.1,
            // T = 1370, Dh = 64). Without AVX-512 (PoCL puts the target in the device name) half as wide and
            // half the keys, for 16 AVX2 registers: a guess, not measured.
            let avx512 = device.name.lowercased().contains("avx512")
            attentionGroup = 1
            attentionRows = 2
            attentionVector = avx512 ? 16 : 8
            attentionKeyTile = avx512 ? 16 : 8
            attentionUnroll = false
            probabilityGroup = 16
            vectorWidth = 8
            shiftGroup = 16
        } else {
            self = Self.gpuDefaults(for: family)
        }
        localMemoryBytes = Int(min(device.localMemoryBytes, UInt64(Int32.max)))
        apply(overrides)
        let limit = max(1, device.maxWorkGroupSize)
        for keyPath in [\OpenCLTuning.layerNormGroup, \.normGroup, \.statsGroup, \.softmaxGroup, \.elementwiseGroup,
                        \.attentionGroup, \.probabilityGroup, \.shiftGroup] {
            while self[keyPath: keyPath] > limit { self[keyPath: keyPath] /= 2 }
        }
    }

    /// The `-D` names a user may override with `VITREOUS_OPENCL_TUNING`, and where each lives.
    static func tunable(_ name: String) -> WritableKeyPath<OpenCLTuning, Int>? {
        switch name {
        case "LN_WG": return \.layerNormGroup
        case "LN_VEC": return \.vectorWidth
        case "NORM_WG": return \.normGroup
        case "STATS_WG": return \.statsGroup
        case "SM_WG": return \.softmaxGroup
        case "EW_WG": return \.elementwiseGroup
        case "ATT_WG": return \.attentionGroup
        case "ATT_ROWS": return \.attentionRows
        case "ATT_VEC": return \.attentionVector
        case "ATT_KT": return \.attentionKeyTile
        case "ATT_PROB_WG": return \.probabilityGroup
        case "SHIFT_WG": return \.shiftGroup
        default: return nil
        }
    }

    /// The entries of a `VITREOUS_OPENCL_TUNING` value, separated by spaces or commas.
    static func entries(of overrides: String) -> [Substring] {
        overrides.split(whereSeparator: { $0 == " " || $0 == "," })
    }

    /// Applies the `NAME=VALUE` entries (from `VITREOUS_OPENCL_TUNING`), for tuning a device without rebuilding.
    /// Values must be powers of two; other entries (such as `gpu`) are ignored.
    mutating func apply(_ overrides: [Substring]) {
        for pair in overrides {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let keyPath = Self.tunable(String(parts[0])), let value = Int(parts[1]),
                  value > 0, value & (value - 1) == 0 else { continue }
            self[keyPath: keyPath] = value
        }
    }

    /// The per-head-dim `-D` options of attention.cl: the head dim, and a key tile whose K and V stay within
    /// half the device's local memory (the other half is left to the driver and to occupancy).
    func attentionDefines(headDim: Int) -> String {
        let fitting = localMemoryBytes / 2 / (4 * (2 * headDim + 1))
        let keyTile = max(1, min(attentionKeyTile, fitting))
        return "-DHEAD_DIM=\(headDim) -DATT_KT=\(keyTile)"
    }

    func options(for program: String) -> String {
        let defines: String
        switch program {
        case "layernorm": defines = "-DLN_WG=\(layerNormGroup) -DLN_VEC=\(vectorWidth)"
        case "token_norms": defines = "-DNORM_WG=\(normGroup) -DSTATS_WG=\(statsGroup)"
        case "softmax": defines = "-DSM_WG=\(softmaxGroup)"
        case "elementwise": defines = "-DEW_WG=\(elementwiseGroup)"
        case "tokens": defines = "-DTOK_WG=\(elementwiseGroup)"
        case "registers": defines = "-DSHIFT_WG=\(shiftGroup)"
        case "attention":
            defines = "-DATT_WG=\(attentionGroup) -DATT_ROWS=\(attentionRows) -DATT_VEC=\(attentionVector) "
                + "-DATT_UNROLL=\(attentionUnroll ? 1 : 0) -DATT_PROB_WG=\(probabilityGroup)"
        default: defines = ""
        }
        return "-cl-std=CL1.2 " + defines
    }
}
