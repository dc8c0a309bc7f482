import Testing
@testable import VitreousTensor

/// The per-vendor launch defaults: which class a device falls in, and that every vendor's table names real
/// tunables with values the kernels and the devices accept. (Their results are checked by running the whole
/// tensor suite with `VITREOUS_OPENCL_TUNING=gpu=VENDOR` on PoCL, from Scripts/test.sh.)
@Suite struct OpenCLTuningTests {
    static func device(vendor: String, platformVendor: String = "", gpu: Bool = true, name: String = "test device",
                       maxWorkGroupSize: Int = 1024) -> OpenCLDeviceInfo {
        OpenCLDeviceInfo(index: 0, platformName: "test", platformVendor: platformVendor, name: name,
                         vendor: vendor, driverVersion: "1", openCLVersion: "OpenCL 3.0", globalMemoryBytes: 1 << 34,
                         maxAllocationBytes: 1 << 32, localMemoryBytes: 48 << 10, computeUnits: 132,
                         maxWorkGroupSize: maxWorkGroupSize, isGPU: gpu, isAccelerator: false, isCPU: !gpu,
                         supportsFP64: true, supportsFP16: true)
    }

    @Test func classFollowsTheVendor() {
        let cases: [(OpenCLDeviceInfo, OpenCLDeviceClass)] = [
            (Self.device(vendor: "NVIDIA Corporation"), .nvidia),
            (Self.device(vendor: "Advanced Micro Devices, Inc."), .amd),
            (Self.device(vendor: "AMD", platformVendor: "Mesa/X.org"), .amd),
            (Self.device(vendor: "Intel(R) Corporation"), .intel),
            (Self.device(vendor: "ARM"), .gpu),
            (Self.device(vendor: "Intel(R) Corporation", gpu: false), .cpu),
            (Self.device(vendor: "AuthenticAMD", platformVendor: "The pocl project", gpu: false,
                         name: "pthread-skylake-avx512"), .cpuAVX512),
        ]
        for (device, deviceClass) in cases {
            #expect(OpenCLDeviceClass(device, overrides: []) == deviceClass, "\(device.vendor)")
        }
    }

    @Test func overridesPickAClassOnAnyDevice() {
        let cpu = Self.device(vendor: "The pocl project", gpu: false)
        #expect(OpenCLDeviceClass(cpu, overrides: ["gpu"]) == .gpu)
        #expect(OpenCLDeviceClass(cpu, overrides: ["LN_WG=8", "gpu=nvidia"]) == .nvidia)
        #expect(OpenCLDeviceClass(cpu, overrides: ["gpu=AMD"]) == .amd)
        #expect(OpenCLDeviceClass(cpu, overrides: ["gpu=intel"]) == .intel)
        // `gpu=cpu` and unknown names fall back to the generic GPU layout rather than silently to the CPU one.
        #expect(OpenCLDeviceClass(cpu, overrides: ["gpu=cpu"]) == .gpu)
        #expect(OpenCLDeviceClass(cpu, overrides: ["gpu=mali"]) == .gpu)
        #expect(OpenCLTuning(device: cpu, overrides: "gpu=intel")[.attentionKeyTile] == 16)
    }

    @Test(arguments: [OpenCLDeviceClass.nvidia, .amd, .intel])
    func vendorTablesAreValid(deviceClass: OpenCLDeviceClass) throws {
        let tables: [OpenCLDeviceClass: [String: Int]] = [.nvidia: OpenCLGPUDefaults.nvidia,
                                                          .amd: OpenCLGPUDefaults.amd, .intel: OpenCLGPUDefaults.intel]
        let table = try #require(tables[deviceClass])
        // Every name is a tunable some program or launcher uses (a typo would silently keep the generic value).
        let known = Set(KernelProgram.all.flatMap { $0.defines.map(\.tunable.name) } + ["ATT_KT"])
        for name in table.keys { #expect(known.contains(name), "\(deviceClass): unknown tunable \(name)") }
        let tuning = OpenCLTuning(device: Self.device(vendor: "x"), overrides: "gpu=\(deviceClass.rawValue)")
        // Reductions halve their group: powers of two only. The vendors' group limits are 256 (AMD) to 1024.
        for tunable in [KernelTunable.layerNormGroup, .tokenNormGroup, .tokenStatisticsGroup, .softmaxGroup,
                        .elementwiseGroup, .attentionGroup, .probabilityGroup, .shiftGroup] {
            let group = tuning[tunable]
            #expect(group > 0 && group & (group - 1) == 0 && group <= 256, "\(deviceClass): \(tunable.name) \(group)")
        }
        #expect([4, 8].contains(tuning[.rowVectorWidth]), "LN_VEC is 4 or 8")
        // K and V tiles of head dim 64 fit in 32 KB, half of the smallest local memory of these vendors.
        #expect(2 * tuning[.attentionKeyTile] * 64 * 4 <= 32 << 10)
    }

    @Test func groupsShrinkToTheDeviceLimit() {
        let small = Self.device(vendor: "NVIDIA Corporation", maxWorkGroupSize: 64)
        let tuning = OpenCLTuning(device: small, overrides: "")
        #expect(tuning.deviceClass == .nvidia)
        #expect(tuning[.tokenStatisticsGroup] == 64 && tuning[.attentionGroup] == 64 && tuning[.elementwiseGroup] == 64)
    }
}
