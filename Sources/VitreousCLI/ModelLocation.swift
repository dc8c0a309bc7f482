import Foundation
import VitreousModel

/// Where `--model` points: a safetensors file, or a Hugging Face model folder holding `model.safetensors`
/// (see ``CheckpointLocation``, which the C API shares).
struct ModelLocation {
    let weights: URL
    /// Heads the location itself states; nil leaves it to the loader (config.json, metadata, D / 64).
    let heads: Int? = nil

    init(_ path: String) throws {
        do {
            weights = try CheckpointLocation.weights(path)
        } catch let error as ModelError {
            throw CLIError("--model \(error)")
        }
    }
}
