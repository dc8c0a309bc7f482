import Foundation

/// The per-vendor GPU defaults of the kernel tunables, with the reasoning: the values ``KernelTunable`` uses on
/// ``OpenCLDeviceClass/nvidia``, ``OpenCLDeviceClass/amd`` and ``OpenCLDeviceClass/intel`` devices; a tunable a
/// table leaves out takes its generic `gpu` default.
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
enum OpenCLGPUDefaults {
    /// The vendor default of the tunable `name` on `deviceClass`, if its table has one.
    static func value(of name: String, on deviceClass: OpenCLDeviceClass) -> Int? {
        switch deviceClass {
        case .nvidia: return nvidia[name]
        case .amd: return amd[name]
        case .intel: return intel[name]
        case .cpu, .cpuAVX512, .gpu: return nil
        }
    }

    /// Warps of 32, up to 1024 items per group, 64 K registers per SM, 48 KB of local memory per group.
    /// Row reductions: CLBlast's Xdot default is 256, but our rows are short (D 384 to 1024 floats, 96 to 256
    /// float4 loads), so 128 items (4 warps) cover ViT-B/L rows in one pass; the token-count reductions
    /// (softmax rows of 257 to 1370 scores, norm statistics) take Xdot's 256. Element-wise: Xaxpy's VW 4 is our
    /// float4 per item; any group from 64 to 512 fills an SM from Volta on, 256 keeps launches few. Vector
    /// loads of 4 (128-bit LDG), as Xaxpy's VW.
    /// Attention: one query row per item, as FlashAttention-2 gives each of its 4 warps a slice of the query
    /// block: 128 rows per group share every K/V tile. FlashAttention keeps 64-128 keys per tile in MMA
    /// fragments spread over a warp; here each item holds its tile's scores in registers next to 2 × head-dim
    /// accumulators, so 32 keys keep about 160 live floats for head dim 64, under the 255-register limit
    /// without spilling. K and V tiles: 2 × 32 × 64 × 4 B = 16 KB of local memory.
    static let nvidia: [String: Int] = [
        "LN_WG": 128, "NORM_WG": 128, "STATS_WG": 256, "SM_WG": 256, "EW_WG": 256, "LN_VEC": 4,
        "ATT_WG": 128, "ATT_KT": 32, "ATT_PROB_WG": 256, "SHIFT_WG": 128,
    ]

    /// Wavefronts of 64 on GCN and CDNA (RDNA runs 32 or 64), groups of up to 256 by default under ROCm, 64 KB
    /// of LDS per compute unit, 256 VGPRs per lane at most.
    /// Row reductions: 128 items = two wavefronts per row; token-count reductions take Xdot's 256.
    /// Element-wise: Xaxpy's default group of 128. Its VW 2 is below the smallest width our row kernels offer
    /// (4); GCN loads 16 bytes per lane natively (buffer_load_dwordx4), so 4.
    /// Attention: one wavefront per group (64 query rows sharing each K/V tile): barriers within one wavefront
    /// cost almost nothing, and four groups' 16 KB K/V tiles fit a compute unit's LDS at once. 32 keys per tile
    /// keep about 160 live VGPRs per lane for head dim 64, as on NVIDIA.
    static let amd: [String: Int] = [
        "LN_WG": 128, "NORM_WG": 128, "STATS_WG": 256, "SM_WG": 256, "EW_WG": 128, "LN_VEC": 4,
        "ATT_WG": 64, "ATT_KT": 32, "ATT_PROB_WG": 256, "SHIFT_WG": 64,
    ]

    /// Xe: each hardware thread runs SIMD8/16/32 lanes with 128 registers of 32 bytes (4 KB), 64 KB of shared
    /// local memory per Xe-core, groups of up to 512 or 1024.
    /// Row and token reductions: Xdot's Intel-GPU default of 64 (two SIMD32 threads, four SIMD16).
    /// Element-wise: Xaxpy's group of 128; its VW 1 / WPT 2 means Intel's compiler vectorises across lanes, so
    /// the smallest row-kernel width (4) is kept rather than 8.
    /// Attention: at SIMD16 a thread's registers hold 64 floats per lane, fewer than the 2 × 64 accumulators a
    /// row-per-item kernel needs at head dim 64, so this layout spills whatever the tile; 16 keys keep the spill
    /// small. A kernel that splits the head dim over a sub-group would fit (left for when an Intel GPU can be
    /// measured).
    static let intel: [String: Int] = [
        "LN_WG": 64, "NORM_WG": 64, "STATS_WG": 64, "SM_WG": 64, "EW_WG": 128, "LN_VEC": 4,
        "ATT_WG": 64, "ATT_KT": 16, "ATT_PROB_WG": 64, "SHIFT_WG": 64,
    ]
}

extension OpenCLDeviceClass {
    /// The class `device` belongs to, or the one named by a `gpu` / `gpu=NAME` entry of
    /// `VITREOUS_OPENCL_TUNING` (an unknown `NAME` gives the generic GPU layout, never a CPU one).
    init(_ device: OpenCLDeviceInfo, overrides: [Substring]) {
        if let entry = overrides.last(where: { $0 == "gpu" || $0.hasPrefix("gpu=") }) {
            let name = entry.dropFirst("gpu=".count).lowercased()
            let vendors: [OpenCLDeviceClass] = [.nvidia, .amd, .intel]
            self = vendors.first { $0.rawValue == name } ?? .gpu
            return
        }
        if device.isCPU && !device.isGPU {
            self = device.name.lowercased().contains("avx512") ? .cpuAVX512 : .cpu
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

extension OpenCLDeviceInfo {
    /// The device class whose kernel launch defaults Vitreous uses for this device: `cpu`, `cpuAVX512`, `gpu`
    /// (generic), `nvidia`, `amd` or `intel`, after any `gpu` / `gpu=NAME` entry of `VITREOUS_OPENCL_TUNING`.
    public var tuningFamily: String {
        OpenCLTuning(device: self).deviceClass.rawValue
    }
}
