import Foundation

/// Where a model argument points: a safetensors file, or a Hugging Face model folder holding
/// `model.safetensors` (whose `config.json` the weight loader reads for the head count). Shared by the CLI's
/// `--model` and the C API's `vitreous_model_load`, so both accept the same paths with the same messages.
public enum CheckpointLocation {
    /// The safetensors file `path` names: `path` itself, or `path/model.safetensors` for a folder.
    /// - Throws: ``ModelError/io(file:reason:)`` for a missing path or a folder without `model.safetensors`;
    ///   ``ModelError/layout(file:problem:)`` for a JSON file or a PyTorch checkpoint given instead.
    public static func weights(_ path: String) throws -> URL {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ModelError.io(file: path, reason: "no such file or folder")
        }
        if isFolder.boolValue {
            let file = URL(fileURLWithPath: path).appendingPathComponent("model.safetensors")
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw ModelError.io(file: path, reason: "the folder has no model.safetensors (a Hugging Face model folder has)")
            }
            return file
        }
        let url = URL(fileURLWithPath: path)
        try checkLooksLikeSafetensors(url)
        return url
    }

    /// A safetensors file starts with an 8-byte little-endian header length, then `{`: refuses JSON files
    /// (config.json) and PyTorch checkpoints (zip or pickle) with a sentence instead of a parser error.
    static func checkLooksLikeSafetensors(_ url: URL) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ModelError.io(file: url.path, reason: "cannot open the file")
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 9)) ?? Data())
        if head.first == UInt8(ascii: "{") {
            throw ModelError.layout(file: url.path, problem: "a JSON file, not a safetensors file (pass the model "
                + "folder, or its model.safetensors)")
        }
        if head.starts(with: [0x50, 0x4B]) || head.first == 0x80 {
            throw ModelError.layout(file: url.path, problem: "a PyTorch checkpoint, not a safetensors file (convert "
                + "it with safetensors.torch.save_file)")
        }
        // Anything else goes to the safetensors parser, whose errors say what is wrong with the header.
    }
}
