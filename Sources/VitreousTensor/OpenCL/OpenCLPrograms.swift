import COpenCL
import Foundation
import Logging

private let stderrLock = NSLock()

/// Runs `body` with file descriptor 2 pointed at /dev/null: PoCL's compiler prints "1 warning generated."
/// straight onto the process's stderr. The build log keeps the text; with VITREOUS_CL_COMPILER_OUTPUT set,
/// nothing is silenced.
func withCompilerChatterSilenced<R>(_ body: () -> R) -> R {
    guard ProcessInfo.processInfo.environment["VITREOUS_CL_COMPILER_OUTPUT"] == nil else { return body() }
    return stderrLock.withLock {
        fflush(nil)
        let saved = dup(STDERR_FILENO)
        let null = open("/dev/null", O_WRONLY)
        guard saved >= 0, null >= 0 else {
            if saved >= 0 { close(saved) }
            if null >= 0 { close(null) }
            return body()
        }
        dup2(null, STDERR_FILENO)
        close(null)
        defer {
            fflush(nil)
            dup2(saved, STDERR_FILENO)
            close(saved)
        }
        return body()
    }
}

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
    /// The device's value of every tunable (see ``OpenCLTuning``).
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

    /// `kernel` built on first use, its program compiled with the device's values of the program's tunables.
    /// `defines` (`-DHEAD_DIM=64`) are added to those options and make a separate variant of the program.
    /// Builds happen under the lock: each variant compiles once even when several threads ask at once.
    /// Callers must hold the backend's launch lock: OpenCL kernel objects are not safe to set up concurrently.
    func kernel(_ kernel: OpenCLKernel, defines: String = "") throws -> cl_kernel {
        try lock.withLock {
            let program = kernel.program
            let variant = program.file + defines
            let key = variant + "/" + kernel.function
            if let cached = kernels[key] { return cached }
            let built: cl_program
            if let cached = programs[variant] {
                built = cached
            } else {
                let options = tuning.options(for: program) + (defines.isEmpty ? "" : " " + defines)
                built = try build(name: program.file, source: try Self.source(of: program), options: options)
                programs[variant] = built
            }
            var status: cl_int = 0
            guard let made = clCreateKernel(built, kernel.function, &status), status == CL_SUCCESS else {
                throw VitreousError.openCL(status: status, name: openCLStatusName(status),
                                           operation: "clCreateKernel(\(kernel.function))")
            }
            kernels[key] = made
            return made
        }
    }

    /// The program's source: its embedded copy, or `NAME.cl` from `VITREOUS_KERNEL_DIR` when that is set.
    static func source(of program: KernelProgram) throws -> String {
        if let folder = ProcessInfo.processInfo.environment["VITREOUS_KERNEL_DIR"], !folder.isEmpty {
            let path = (folder as NSString).appendingPathComponent(program.file + ".cl")
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw VitreousError.invalidArgument("VITREOUS_KERNEL_DIR: cannot read \(path): \(error)")
            }
        }
        return program.source
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
        let started = Date()
        let buildStatus = withCompilerChatterSilenced { clBuildProgram(program, 1, &device, options, nil, nil) }
        let milliseconds = String(format: "%.0f", Date().timeIntervalSince(started) * 1000)
        Logger(label: "vitreous").debug("built OpenCL program \(name) for \(handle.info.name) in \(milliseconds) ms")
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
        guard withCompilerChatterSilenced({ clBuildProgram(program, 1, &device, options, nil, nil) }) == CL_SUCCESS else {
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
