import VitreousModel

/// Fingerprints of model weights, so cached analyses and neuron presets are used only with the exact
/// weights they were made for: SHA-256 over the float32 little-endian bytes of the relevant tensors.
public enum WeightFingerprint {
    /// SHA-256 (hex) of `arrays` in order, each as float32 little-endian bytes, nothing in between.
    /// - Throws: when the system's libcrypto cannot compute SHA-256 (out of memory, or disabled by its
    ///   configuration).
    public static func sha256(_ arrays: [[Float]]) throws -> String {
        var hash = try SHA256()
        for array in arrays {
            if 1.littleEndian == 1 {
                array.withUnsafeBytes { hash.update($0) }
            } else {
                let swapped = array.map { $0.bitPattern.littleEndian }
                swapped.withUnsafeBytes { hash.update($0) }
            }
        }
        return try hash.hexDigest()
    }

    /// The key of a defect-direction result: per block, in order, everything the linear model of RegisterRepair.md, "Defect direction from the weights", reads —
    /// the V rows of qkv, proj, norm1/norm2 weights, both LayerScales, fc1 weight and bias, fc2 weight.
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when a qkv weight is too short to hold its V rows, or what
    ///   ``sha256(_:)`` throws.
    public static func defectDirection(_ weights: ViTHostWeights) throws -> String {
        let d = weights.config.hiddenSize
        var arrays: [[Float]] = []
        for (index, block) in weights.blocks.enumerated() {
            guard block.qkvWeight.count == 3 * d * d else {
                throw RepairError.shapeMismatch("block \(index) qkv holds \(block.qkvWeight.count) values, not \(3 * d * d)")
            }
            arrays += [Array(block.qkvWeight[(2 * d * d)...]), block.projWeight, block.norm1Weight, block.layerScale1,
                       block.norm2Weight, block.layerScale2, block.fc1Weight, block.fc1Bias, block.fc2Weight]
        }
        return try sha256(arrays)
    }

    /// The key of a test-time-register neuron preset (RegisterRepair.md, "Finding register neurons"): the `fc1` (or `w12`) weights
    /// of `layers` in ascending order.
    /// - Throws: ``RepairError/invalidArgument(_:)`` for a layer the model does not have, or what ``sha256(_:)``
    ///   throws.
    public static func registerNeurons(_ weights: ViTHostWeights, layers: [Int]) throws -> String {
        let sorted = Set(layers).sorted()
        for layer in sorted where !weights.blocks.indices.contains(layer) {
            throw RepairError.invalidArgument("layer \(layer) does not exist in a model of \(weights.blocks.count) blocks")
        }
        return try sha256(sorted.map { weights.blocks[$0].fc1Weight })
    }
}
