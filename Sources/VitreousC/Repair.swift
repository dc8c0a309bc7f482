import Foundation
import VitreousRepair

// Artifact detection and repair on an encoded result, with the same choices as `vitreous repair`. See
// include/vitreous.h for the contract of each function.

/// The patch rows of one image's norms at one layer, and `detector`'s flags among them (row-major indices).
func flaggedPatches(_ object: ResultObject, image: Int32 = 0, layer: Int32, detector: ArtifactDetector = .default,
                    _ function: String) throws -> [Int] {
    let norms = try layerNorms(object, layer, function)
    guard image >= 0, Int(image) < object.imageCount else {
        throw CAPIError(.invalidArgument, "\(function): image \(image) does not exist; the result holds "
            + "\(object.imageCount) (0 to \(object.imageCount - 1))")
    }
    let start = Int(image) * object.tokenCount + object.firstPatch
    return try detector.detect(norms: Array(norms[start..<(start + object.patchCount)])).flagged
}

/// Detection into a caller's mask and count, shared by both detection calls.
func detect(_ result: OpaquePointer?, image: Int32, layer: Int32, detector: () throws -> ArtifactDetector,
            mask: UnsafeMutablePointer<UInt8>?, capacity: Int, flaggedCount: UnsafeMutablePointer<Int32>?,
            _ function: String) throws {
    let object = try HandleRegistry.shared.result(result, function)
    let flaggedCount = try required(flaggedCount, function, "flagged_count")
    let detector = try detector()
    // A NULL mask with capacity 0 asks only for the count.
    let wantsMask = !(mask == nil && capacity == 0)
    if wantsMask {
        _ = try required(mask, function, "mask")
        try checkCapacity(capacity, needed: object.patchCount, function, "mask")
    }
    let flagged = try flaggedPatches(object, image: image, layer: layer, detector: detector, function)
    if wantsMask {
        var bytes = [UInt8](repeating: 0, count: object.patchCount)
        for index in flagged { bytes[index] = 1 }
        try copyOut(bytes, to: mask, count: capacity, function, "mask")
    }
    flaggedCount.pointee = Int32(flagged.count)
}

/// Inpainting of one image's output patches into a caller's buffer, shared by both repair calls.
func inpaint(_ result: OpaquePointer?, image: Int32, detector: () throws -> ArtifactDetector,
             patches: UnsafeMutablePointer<Float>?, count: Int, flaggedCount: UnsafeMutablePointer<Int32>?,
             _ function: String) throws {
    let object = try HandleRegistry.shared.result(result, function)
    let patches = try required(patches, function, "patches")
    let detector = try detector()
    let size = object.patchCount * object.hiddenSize
    try checkCapacity(count, needed: size, function, "patches")
    // Without token norms this is the error detection gives.
    _ = try layerNorms(object, -1, function)
    // Layer 0 is the embeddings, layer b + 1 the output of block b.
    let flagged = try RepairPolicy.patchesToRepair(depth: object.layerNorms.count - 1) { block in
        try flaggedPatches(object, image: image, layer: Int32(block + 1), detector: detector, function)
    }
    let start = Int(image) * size
    let repaired = try RepairPolicy.inpaint(Array(object.patches[start..<(start + size)]),
                                            grid: try PatchGrid(height: object.gridHeight, width: object.gridWidth),
                                            dimension: object.hiddenSize, flagged: flagged)
    try copyOut(repaired, to: patches, count: count, function, "patches")
    flaggedCount?.pointee = Int32(flagged.count)
}

/// `vitreous_status vitreous_detect_artifacts(const vitreous_result *, int32_t layer, uint8_t *mask,
/// size_t capacity, int32_t *flagged_count)`.
@_cdecl("vitreous_detect_artifacts")
public func vitreous_detect_artifacts(_ result: OpaquePointer?, _ layer: Int32, _ mask: UnsafeMutablePointer<UInt8>?,
                                      _ capacity: Int, _ flaggedCount: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_detect_artifacts"
    return entry(function) {
        try detect(result, image: 0, layer: layer, detector: { .default }, mask: mask, capacity: capacity,
                   flaggedCount: flaggedCount, function)
    }
}

/// `vitreous_status vitreous_detect_artifacts_image(const vitreous_result *, int32_t image, int32_t layer,
/// int32_t method, float parameter, uint8_t *mask, size_t capacity, int32_t *flagged_count)`.
@_cdecl("vitreous_detect_artifacts_image")
public func vitreous_detect_artifacts_image(_ result: OpaquePointer?, _ image: Int32, _ layer: Int32, _ method: Int32,
                                            _ parameter: Float, _ mask: UnsafeMutablePointer<UInt8>?, _ capacity: Int,
                                            _ flaggedCount: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_detect_artifacts_image"
    return entry(function) {
        try detect(result, image: image, layer: layer, detector: { try detector(method, parameter, function) },
                   mask: mask, capacity: capacity, flaggedCount: flaggedCount, function)
    }
}

/// `vitreous_status vitreous_repair_inpaint(const vitreous_result *, float *patches, size_t count,
/// int32_t *flagged_count)`: as `vitreous repair --method inpaint`, by ``RepairPolicy``.
@_cdecl("vitreous_repair_inpaint")
public func vitreous_repair_inpaint(_ result: OpaquePointer?, _ patches: UnsafeMutablePointer<Float>?, _ count: Int,
                                    _ flaggedCount: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_repair_inpaint"
    return entry(function) {
        try inpaint(result, image: 0, detector: { .default }, patches: patches, count: count,
                    flaggedCount: flaggedCount, function)
    }
}

/// `vitreous_status vitreous_repair_inpaint_image(const vitreous_result *, int32_t image, int32_t method,
/// float parameter, float *patches, size_t count, int32_t *flagged_count)`.
@_cdecl("vitreous_repair_inpaint_image")
public func vitreous_repair_inpaint_image(_ result: OpaquePointer?, _ image: Int32, _ method: Int32, _ parameter: Float,
                                          _ patches: UnsafeMutablePointer<Float>?, _ count: Int,
                                          _ flaggedCount: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_repair_inpaint_image"
    return entry(function) {
        try inpaint(result, image: image, detector: { try detector(method, parameter, function) }, patches: patches,
                    count: count, flaggedCount: flaggedCount, function)
    }
}
