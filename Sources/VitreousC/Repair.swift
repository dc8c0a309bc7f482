import Foundation
import VitreousRepair

// Artifact detection and repair on an encoded result, with the library's default detector and the same
// choices as `vitreous repair`. See include/vitreous.h for the contract of each function.

/// The patch rows of one layer's norms, and the default detector's flags among them (row-major indices).
func flaggedPatches(_ object: ResultObject, layer: Int32, _ function: String) throws -> [Int] {
    let norms = try layerNorms(object, layer, function)
    let patches = Array(norms[object.firstPatch..<(object.firstPatch + object.patchCount)])
    return try ArtifactDetector.default.detect(norms: patches).flagged
}

/// `vitreous_status vitreous_detect_artifacts(const vitreous_result *, int32_t layer, uint8_t *mask,
/// size_t capacity, int32_t *flagged_count)`.
@_cdecl("vitreous_detect_artifacts")
public func vitreous_detect_artifacts(_ result: OpaquePointer?, _ layer: Int32, _ mask: UnsafeMutablePointer<UInt8>?,
                                      _ capacity: Int, _ flaggedCount: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_detect_artifacts"
    return entry(function) {
        let object = try HandleRegistry.shared.result(result, function)
        let flaggedCount = try required(flaggedCount, function, "flagged_count")
        // A NULL mask with capacity 0 asks only for the count.
        let wantsMask = !(mask == nil && capacity == 0)
        if wantsMask {
            _ = try required(mask, function, "mask")
            try checkCapacity(capacity, needed: object.patchCount, function, "mask")
        }
        let flagged = try flaggedPatches(object, layer: layer, function)
        if wantsMask {
            var bytes = [UInt8](repeating: 0, count: object.patchCount)
            for index in flagged { bytes[index] = 1 }
            try copyOut(bytes, to: mask, count: capacity, function, "mask")
        }
        flaggedCount.pointee = Int32(flagged.count)
    }
}

/// `vitreous_status vitreous_repair_inpaint(const vitreous_result *, float *patches, size_t count,
/// int32_t *flagged_count)`: as `vitreous repair --method inpaint`, by ``RepairPolicy``.
@_cdecl("vitreous_repair_inpaint")
public func vitreous_repair_inpaint(_ result: OpaquePointer?, _ patches: UnsafeMutablePointer<Float>?, _ count: Int,
                                    _ flaggedCount: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_repair_inpaint"
    return entry(function) {
        let object = try HandleRegistry.shared.result(result, function)
        let patches = try required(patches, function, "patches")
        try checkCapacity(count, needed: object.patches.count, function, "patches")
        // Without token norms this is the error detection gives.
        _ = try layerNorms(object, -1, function)
        // Layer 0 is the embeddings, layer b + 1 the output of block b.
        let flagged = try RepairPolicy.patchesToRepair(depth: object.layerNorms.count - 1) { block in
            try flaggedPatches(object, layer: Int32(block + 1), function)
        }
        let repaired = try RepairPolicy.inpaint(object.patches,
                                                grid: try PatchGrid(height: object.gridHeight, width: object.gridWidth),
                                                dimension: object.hiddenSize, flagged: flagged)
        try copyOut(repaired, to: patches, count: count, function, "patches")
        flaggedCount?.pointee = Int32(flagged.count)
    }
}
