import ArgumentParser
import Foundation
import VitreousTensor

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the OpenCL platforms and devices, and which device Vitreous uses by default.")

    @Flag(name: .long, help: "Print the devices and the default as one JSON object instead.")
    var json = false

    func run() throws {
        let devices = Device.openCLDevices
        if json {
            let selection = Device.defaultSelection
            let object: [String: Any] = [
                "opencl": devices.map { info -> [String: Any] in
                    ["device": "opencl:\(info.index)", "name": info.name, "platform": info.platformName,
                     "vendor": info.vendor, "driver": info.driverVersion, "kind": "\(info.kind)",
                     "compute_units": info.computeUnits, "memory_bytes": info.globalMemoryBytes,
                     "fp64": info.supportsFP64, "fp16": info.supportsFP16]
                },
                "problem": Device.openCLProblem ?? NSNull(),
                "default": selection.device.description, "reason": selection.reason,
                "cpu_bf16": Precision.cpuHasNativeBF16 ? "native" : "emulated",
                "auto_precision_cpu": Precision.automatic(for: .cpu).rawValue,
            ]
            try printJSON(object)
            return
        }
        if devices.isEmpty {
            print("No OpenCL device: \(Device.openCLProblem ?? "none found").")
            print("Install an OpenCL driver (for example Debian's pocl-opencl-icd for the CPU) to use one.")
        }
        var platform = ""
        for info in devices {
            if info.platformName != platform {
                platform = info.platformName
                print("Platform: \(info.platformName) (\(info.platformVendor))")
            }
            let memory = String(format: "%.1f GiB", Double(info.globalMemoryBytes) / 1_073_741_824)
            let largest = String(format: "%.1f GiB", Double(info.maxAllocationBytes) / 1_073_741_824)
            print("  opencl:\(info.index)  \(info.name)")
            print("      kind \(info.kind), vendor \(info.vendor), driver \(info.driverVersion)")
            print("      \(info.openCLVersion), \(info.computeUnits) compute units, memory \(memory) "
                + "(largest buffer \(largest)), local memory \(info.localMemoryBytes / 1024) KiB")
            print("      fp64 \(info.supportsFP64 ? "yes" : "no"), fp16 \(info.supportsFP16 ? "yes" : "no"), "
                + "max work-group \(info.maxWorkGroupSize)")
            print("      kernel launch defaults: \(info.tuningFamily) (VITREOUS_OPENCL_TUNING overrides them)")
        }
        let levels = CPUInstructionSet.supported.map(\.rawValue).joined(separator: ", ")
        switch CPUInstructionSet.select(ProcessInfo.processInfo.environment[CPUInstructionSet.environmentVariable]) {
        case .success(let level):
            print("CPU kernels: \(level) (this CPU runs \(levels); force one with "
                + "\(CPUInstructionSet.environmentVariable)=avx512|avx2|baseline)")
        case .failure(let error):
            print("CPU kernels: \(error) (this CPU runs \(levels))")
        }
        print(Precision.cpuHasNativeBF16
            ? "CPU bf16: native (AVX512-BF16 VDPBF16PS); --precision auto picks bf16 on the CPU"
            : "CPU bf16: emulated (no AVX512-BF16: same results as native, no speed-up); --precision auto picks fp32")
        let selection = Device.defaultSelection
        print("Default device: \(selection.device) — \(selection.reason)")
        print("Override with --device cpu|opencl|opencl:N or VITREOUS_DEVICE.")
    }
}
