import ArgumentParser
import VitreousTensor

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the OpenCL platforms and devices, and which device Vitreous uses by default.")

    func run() throws {
        let devices = Device.openCLDevices
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
        let selection = Device.defaultSelection
        print("Default device: \(selection.device) — \(selection.reason)")
        print("Override with --device cpu|opencl|opencl:N or VITREOUS_DEVICE.")
    }
}
