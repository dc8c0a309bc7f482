import Foundation
import VitreousTensor
import VitreousTesting

/// Fused against materialised attention on one device: what ``benchmarkAttention(device:tokens:heads:headDim:runs:)``
/// measures.
struct AttentionTiming: Sendable, CustomStringConvertible {
    let device: Device
    let tokens: Int
    let heads: Int
    let headDim: Int
    /// Timed runs of each version (after one untimed warm-up run that builds kernels and fills caches).
    let runs: Int
    /// Median wall time of ``attention(qkv:heads:scale:probabilities:keyMask:precision:)``, milliseconds, until its output
    /// is finished on the device.
    let fusedMilliseconds: Double
    /// Median wall time of ``materializedAttention(q:k:v:scale:)``, milliseconds, likewise.
    let materializedMilliseconds: Double
    /// Memory each version needs beyond its inputs and output, bytes: for the fused op on the CPU backend one
    /// scratch per core (one head's packed K and V, one query block's rows and accumulators), on an OpenCL device
    /// nothing (its tiles live in local memory); for the materialised version the scores and the
    /// probabilities, two `heads × tokens × tokens` tensors.
    let fusedExtraBytes: Int
    let materializedExtraBytes: Int

    /// Floating-point operations of one attention: `4·tokens²·headDim·heads` (per head two products of
    /// `2·T²·Dh` each).
    var flops: Double { 4 * Double(tokens) * Double(tokens) * Double(headDim) * Double(heads) }
    var fusedGFLOPS: Double { flops / fusedMilliseconds / 1e6 }
    var materializedGFLOPS: Double { flops / materializedMilliseconds / 1e6 }
    /// How many times faster the fused op is.
    var speedup: Double { materializedMilliseconds / fusedMilliseconds }

    var description: String {
        func mib(_ bytes: Int) -> String { String(format: "%.2f MiB", Double(bytes) / 1_048_576) }
        return String(format: "%@ T=%d H=%d Dh=%d: fused %.3f ms (%.1f GFLOP/s, +%@), materialised %.3f ms "
                      + "(%.1f GFLOP/s, +%@), speed-up %.2f×",
                      device.description, tokens, heads, headDim, fusedMilliseconds, fusedGFLOPS, mib(fusedExtraBytes),
                      materializedMilliseconds, materializedGFLOPS, mib(materializedExtraBytes), speedup)
    }
}

/// Times fused attention (``attention(qkv:heads:scale:probabilities:keyMask:precision:)`` on a `[1, tokens, 3·heads·headDim]`
/// projection) against the materialised GEMM → softmax → GEMM (``materializedAttention(q:k:v:scale:)`` on the
/// same values already split into heads, with the scale folded into q so that it does nothing but the three
/// passes), on one device, batch 1, random inputs. Runs alternate between the two versions so that
/// drifting machine load hits both alike; each time includes waiting for the device.
/// - Throws: whatever the ops throw (an unavailable device, a kernel that fails to build).
func benchmarkAttention(device: Device, tokens: Int, heads: Int, headDim: Int,
                               runs: Int) throws -> AttentionTiming {
    guard tokens > 0, heads > 0, headDim > 0, runs > 0 else {
        throw VitreousError.invalidArgument(
            "benchmarkAttention: tokens \(tokens), heads \(heads), headDim \(headDim), runs \(runs) must be positive")
    }
    let width = heads * headDim
    var generator = SystemRandomNumberGenerator()
    let values = (0..<(tokens * 3 * width)).map { _ in Float.random(in: -2...2, using: &generator) }
    let qkv = try Tensor(values, shape: [1, tokens, 3 * width], on: device)
    // The same numbers as [1, heads, tokens, headDim] per part, q pre-scaled.
    let scale = 1 / Float(headDim).squareRoot()
    let parts = (0..<3).map { part in
        (0..<width * tokens).map { index -> Float in
            let (h, rest) = index.quotientAndRemainder(dividingBy: tokens * headDim)
            let (t, d) = rest.quotientAndRemainder(dividingBy: headDim)
            let value = values[t * 3 * width + part * width + h * headDim + d]
            return part == 0 ? value * scale : value
        }
    }
    let split = try parts.map { try Tensor($0, shape: [1, heads, tokens, headDim], on: device) }

    func time(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        try device.synchronize()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }
    let fused = { _ = try attention(qkv: qkv, heads: heads) }
    let materialized = { _ = try materializedAttention(q: split[0], k: split[1], v: split[2], scale: 1) }
    _ = try time(fused)
    _ = try time(materialized)
    var fusedTimes: [Double] = [], materializedTimes: [Double] = []
    for _ in 0..<runs {
        fusedTimes.append(try time(fused))
        materializedTimes.append(try time(materialized))
    }
    var fusedExtra = 0
    if device == .cpu {
        fusedExtra = CPUBackend.attentionScratchBytes(tokens: tokens, heads: heads, headDim: headDim)
    }
    return AttentionTiming(device: device, tokens: tokens, heads: heads, headDim: headDim, runs: runs,
                           fusedMilliseconds: median(fusedTimes), materializedMilliseconds: median(materializedTimes),
                           fusedExtraBytes: fusedExtra, materializedExtraBytes: 2 * heads * tokens * tokens * 4)
}
