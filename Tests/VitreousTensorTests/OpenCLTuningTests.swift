import Testing
@testable import VitreousTensor

/// The per-family launch defaults: which family a device falls in, and that every family's layout stays
/// within what the kernels and the device accept. (Their results are checked by running the whole tensor
/// suite with `VITREOUS_OPENCL_TUNING=gpu=FAMILY` on PoCL, from Scripts/test.sh.)
@Suite struct OpenCLTuningTests {
    static func device(vendor: String, platformVendor: String = "", gpu: Bool = true,
                       maxWorkGroupSize: Int = 1024) -> OpenCLDeviceInfo {
        OpenCLDeviceInfo(index: 0, platformName: "test", platformVendor: platformVendor, name: "test device",
                         vendor: vendor, driverVersion: "1", openCLVersion: "OpenCL 3.0", globalMemoryBytes: 1 << 34,
                         maxAllocationBytes: 1 << 32, localMemoryBytes: 48 << 10, computeUnits: 132,
                         maxWorkGroupSize: maxWorkGroupSize, isGPU: gpu, isAccelerator: false, isCPU: !gpu,
                         supportsFP64: true, supportsFP16: true)
    }

    @Test func familyFollowsTheVendor() {
        let cases: [(OpenCLDeviceInfo, OpenCLDeviceFamily)] = [
            (Self.device(vendor: "NVIDIA Corporation"), .nvidia),
            (Self.device(vendor: "Advanced Micro Devices, Inc."), .amd),
            (Self.device(vendor: "AMD", platformVendor: "Mesa/X.org"), .amd),
            (Self.device(vendor: "Intel(R) Corporation"), .intel),
            (Self.device(vendor: "ARM"), .gpu),
            (Self.device(vendor: "Intel(R) Corporation", gpu: false), .cpu),
            (Self.device(vendor: "AuthenticAMD", platformVendor: "The pocl project", gpu: false), .cpu),
        ]
        for (device, family) in cases {
            #expect(OpenCLDeviceFamily(device: device, overrides: []) == family, "\(device.vendor)")
        }
    }

    @Test func overridesPickAFamilyOnAnyDevice() {
        let cpu = Self.device(vendor: "The pocl project", gpu: false)
        #expect(OpenCLDeviceFamily(device: cpu, overrides: ["gpu"]) == .gpu)
        #expect(OpenCLDeviceFamily(device: cpu, overrides: ["LN_WG=8", "gpu=nvidia"]) == .nvidia)
        #expect(OpenCLDeviceFamily(device: cpu, overrides: ["gpu=AMD"]) == .amd)
        #expect(OpenCLDeviceFamily(device: cpu, overrides: ["gpu=intel"]) == .intel)
        // `gpu=cpu` and unknown names fall back to the generic GPU layout rather than silently to the CPU one.
        #expect(OpenCLDeviceFamily(device: cpu, overrides: ["gpu=cpu"]) == .gpu)
        #expect(OpenCLDeviceFamily(device: cpu, overrides: ["gpu=mali"]) == .gpu)
    }

    @Test(arguments: [OpenCLDeviceFamily.gpu, .nvidia, .amd, .intel])
    func familyLayoutsAreValid(family: OpenCLDeviceFamily) {
        let tuning = OpenCLTuning.gpuDefaults(for: family)
        let groups = [tuning.layerNormGroup, tuning.normGroup, tuning.statsGroup, tuning.softmaxGroup,
                      tuning.elementwiseGroup, tuning.attentionGroup, tuning.probabilityGroup, tuning.shiftGroup]
        // Reductions halve their group: powers of two only. The vendors' group limits are 256 (AMD) to 1024.
        for group in groups {
            #expect(group > 0 && group & (group - 1) == 0 && group <= 256, "\(family): group \(group)")
        }
        #expect([4, 8].contains(tuning.vectorWidth), "LN_VEC is 4 or 8")
        #expect([1, 2, 4, 8, 16].contains(tuning.attentionVector))
        // K and V tiles of head dim 64 fit in 32 KB, half of the smallest local memory of these families.
        #expect(2 * tuning.attentionKeyTile * 64 * 4 <= 32 << 10)
    }

    @Test func groupsShrinkToTheDeviceLimit() {
        let small = Self.device(vendor: "NVIDIA Corporation", maxWorkGroupSize: 64)
        let tuning = OpenCLTuning(device: small)
        #expect(tuning.statsGroup <= 64 && tuning.attentionGroup <= 64 && tuning.elementwiseGroup <= 64)
        #expect(tuning.attentionDefines(headDim: 64).contains("-DHEAD_DIM=64"))
    }
}
