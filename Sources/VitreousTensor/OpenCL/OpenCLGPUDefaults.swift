import Foundation

/// The GPU families that get their own OpenCL launch defaults, and those defaults with the reasoning.
///
/// None of these values has been measured on the GPU it is meant for (the development machine has PoCL
/// only): they are chosen from CLBlast's tuning database (its per-vendor `default` rows for the kernels most
/// like ours) and from how FlashAttention-style kernels tile attention, so that a first run on a real GPU
/// starts from a sensible layout. `Scripts/device-check.sh` measures them; `VITREOUS_OPENCL_TUNING` overrides
/// any of them without rebuilding, and `VITREOUS_OPENCL_TUNING=gpu=nvidia` (or `amd`, `intel`, plain `gpu` for
/// the generic layout) selects a family's layout on any device, which is how the tests run these code paths
/// on PoCL.
///
/// CLBlast rows used (single precision, the `default` device of each vendor):
/// - `Xdot` (a work-group reduces a vector: our layer norm, token norms, softmax rows): `WGS1` 256 on NVIDIA
///   and AMD, 64 on Intel GPUs.
/// - `Xaxpy` (element-wise, one vector load per item: our GELU, add, patchify): NVIDIA `VW` 4 / `WGS` 64
///   (512 for its Pascal row), AMD `VW` 2 / `WGS` 128, Intel GPUs `VW` 1 / `WGS` 128 / `WPT` 2.
enum OpenCLDeviceFamily: String, Sendable, CaseIterable {
    /// CPU drivers (PoCL): the layout of ``OpenCLTuning/init(device:)``'s CPU branch.
    case cpu
    /// A GPU of a vendor without its own row (ARM Mali, Apple, Qualcomm, ...): the textbook layout.
    case gpu
    case nvidia
    case amd
    case intel

    /// The family `device` belongs to, or the one named by a `gpu` / `gpu=NAME` entry of
    /// `VITREOUS_OPENCL_TUNING` (an unknown `NAME` gives the generic GPU layout).
    init(device: OpenCLDeviceInfo, overrides: [Substring]) {
        if let entry = overrides.last(where: { $0 == "gpu" || $0.hasPrefix("gpu=") }) {
            let name = entry.dropFirst("gpu=".count)
            self = Self(rawValue: name.lowercased()).flatMap { $0 == .cpu ? nil : $0 } ?? .gpu
            return
        }
        if device.isCPU && !device.isGPU {
            self = .cpu
            return
        }
        let vendor = (device.vendor + " " + device.platformVendor).lowercased()
        if vendor.contains("nvidia") {
            self = .nvidia
        } else if vendor.contains("advanced micro devices") || vendor.contains("amd") {
            self = .amd
        } else if vendor.contains("intel") {
            self = .intel
        } else {
            self = .gpu
        }
    }
}

extension OpenCLTuning {
    /// The launch layout of a GPU family (not ``OpenCLDeviceFamily/cpu``, which ``init(device:)`` sets itself).
    /// `localMemoryBytes` is left 0 for the caller to fill in from the device.
    static func gpuDefaults(for family: OpenCLDeviceFamily) -> OpenCLTuning {
        switch family {
        case .nvidia:
            // Warps of 32, up to 1024 items per group, 64 K registers per SM, 48 KB of local memory per group.
            // Row reductions: CLBlast's Xdot default is 256, but our rows are short (D 384 to 1024 floats, 96
            // to 256 float4 loads), so 128 items (4 warps) cover ViT-B/L rows in one pass; the token-count
            // reductions (softmax rows of 257 to 1370 scores, norm statistics) take Xdot's 256.
            // Element-wise: Xaxpy's VW 4 is our float4 per item; any group from 64 to 512 fills an SM from
            // Volta on, 256 keeps launches few. Vector loads of 4 (128-bit LDG), as Xaxpy's VW.
            // Attention: one query row per item as FlashAttention-2 gives each of its 4 warps a slice of the
            // query block: 128 rows per group share every K/V tile. FlashAttention keeps 64-128 keys per tile
            // in MMA fragments spread over a warp; here each item holds its tile's scores in registers next
            // to 2 × head-dim accumulators, so 32 keys keep about 160 live floats for head dim 64, under the
            // 255-register limit without spilling. K and V tiles: 2 × 32 × 64 × 4 B = 16 KB of local memory.
            return OpenCLTuning(layerNormGroup: 128, normGroup: 128, statsGroup: 256, softmaxGroup: 256,
                                elementwiseGroup: 256, attentionGroup: 128, attentionRows: 1, attentionVector: 1,
                                attentionKeyTile: 32, attentionUnroll: true, probabilityGroup: 256,
                                localMemoryBytes: 0, shiftGroup: 128, vectorWidth: 4)
        case .amd:
            // Wavefronts of 64 on GCN and CDNA (RDNA runs 32 or 64), groups of up to 256 by default under ROCm,
            // 64 KB of LDS per compute unit, 256 VGPRs per lane at most.
            // Row reductions: 128 items = two wavefronts per row; token-count reductions take Xdot's 256.
            // Element-wise: Xaxpy's default group of 128. Its VW 2 is below the smallest width our row
            // kernels offer (4); GCN loads 16 bytes per lane natively (buffer_load_dwordx4), so 4.
            // Attention: one wavefront per group (64 query rows sharing each K/V tile): barriers within one
            // wavefront cost almost nothing, and four groups' 16 KB K/V tiles fit a compute unit's LDS at
            // once. 32 keys per tile keep about 160 live VGPRs per lane for head dim 64, as on NVIDIA.
            return OpenCLTuning(layerNormGroup: 128, normGroup: 128, statsGroup: 256, softmaxGroup: 256,
                                elementwiseGroup: 128, attentionGroup: 64, attentionRows: 1, attentionVector: 1,
                                attentionKeyTile: 32, attentionUnroll: true, probabilityGroup: 256,
                                localMemoryBytes: 0, shiftGroup: 64, vectorWidth: 4)
        case .intel:
            // Xe: each hardware thread runs SIMD8/16/32 lanes with 128 registers of 32 bytes (4 KB), 64 KB of
            // shared local memory per Xe-core, groups of up to 512 or 1024.
            // Row and token reductions: Xdot's Intel-GPU default of 64 (two SIMD32 threads, four SIMD16).
            // Element-wise: Xaxpy's group of 128; its VW 1 / WPT 2 means Intel's compiler vectorises across
            // lanes, so the smallest row-kernel width (4) is kept rather than 8.
            // Attention: at SIMD16 a thread's registers hold 64 floats per lane, fewer than the 2 × 64
            // accumulators a row-per-item kernel needs at head dim 64, so this layout spills whatever the tile;
            // 16 keys keep the spill small. A kernel that splits the head dim over a sub-group would fit (left
            // for when an Intel GPU can be measured).
            return OpenCLTuning(layerNormGroup: 64, normGroup: 64, statsGroup: 64, softmaxGroup: 64,
                                elementwiseGroup: 128, attentionGroup: 64, attentionRows: 1, attentionVector: 1,
                                attentionKeyTile: 16, attentionUnroll: true, probabilityGroup: 64,
                                localMemoryBytes: 0, shiftGroup: 64, vectorWidth: 4)
        case .gpu, .cpu:
            // The textbook layout for a GPU of unknown shape: groups of 64 to 256 (a multiple of every SIMD
            // width in use), one query row per item, 64 rows per group sharing each K/V tile, head-dim loops
            // unrolled so that the row's arrays stay in registers.
            return OpenCLTuning(layerNormGroup: 128, normGroup: 64, statsGroup: 128, softmaxGroup: 128,
                                elementwiseGroup: 256, attentionGroup: 64, attentionRows: 1, attentionVector: 1,
                                attentionKeyTile: 32, attentionUnroll: true, probabilityGroup: 128,
                                localMemoryBytes: 0, shiftGroup: 64, vectorWidth: 4)
        }
    }

    /// Every field given; for the family tables above.
    init(layerNormGroup: Int, normGroup: Int, statsGroup: Int, softmaxGroup: Int, elementwiseGroup: Int,
         attentionGroup: Int, attentionRows: Int, attentionVector: Int, attentionKeyTile: Int,
         attentionUnroll: Bool, probabilityGroup: Int, localMemoryBytes: Int, shiftGroup: Int, vectorWidth: Int) {
        self.layerNormGroup = layerNormGroup
        self.normGroup = normGroup
        self.statsGroup = statsGroup
        self.softmaxGroup = softmaxGroup
        self.elementwiseGroup = elementwiseGroup
        self.attentionGroup = attentionGroup
        self.attentionRows = attentionRows
        self.attentionVector = attentionVector
        self.attentionKeyTile = attentionKeyTile
        self.attentionUnroll = attentionUnroll
        self.probabilityGroup = probabilityGroup
        self.localMemoryBytes = localMemoryBytes
        self.shiftGroup = shiftGroup
        self.vectorWidth = vectorWidth
    }
}

extension OpenCLDeviceInfo {
    /// The family whose launch defaults Vitreous uses for this device: `cpu`, `gpu` (generic), `nvidia`, `amd`
    /// or `intel`, after any `gpu` / `gpu=NAME` entry of `VITREOUS_OPENCL_TUNING`.
    public var tuningFamily: String {
        let overrides = OpenCLTuning.entries(of: ProcessInfo.processInfo.environment["VITREOUS_OPENCL_TUNING"] ?? "")
        return OpenCLDeviceFamily(device: self, overrides: overrides).rawValue
    }
}
