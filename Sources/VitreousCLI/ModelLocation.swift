import Foundation

/// Where `--model` points: a safetensors file, or a Hugging Face model folder holding `model.safetensors`
/// (whose `config.json` the weight loader reads for the head count).
struct ModelLocation {
    let weights: URL
    /// Heads the location itself states; nil leaves it to the loader (config.json, metadata, D / 64).
    let heads: Int? = nil

    init(_ path: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CLIError("--model \(path): no such file or folder")
        }
        if isFolder.boolValue {
            let file = URL(fileURLWithPath: path).appendingPathComponent("model.safetensors")
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw CLIError("--model \(path): the folder has no model.safetensors (a Hugging Face model folder has)")
            }
            weights = file
            return
        }
        weights = URL(fileURLWithPath: path)
        try Self.checkLooksLikeSafetensors(weights)
    }

    /// A safetensors file starts with an 8-byte little-endian header length, then `{`: refuses JSON files
    /// (config.json) and PyTorch checkpoints (zip or pickle) with a sentence instead of a parser error.
    static func checkLooksLikeSafetensors(_ url: URL) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw CLIError("--model \(url.path): cannot open the file")
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 9)) ?? Data())
        if head.first == UInt8(ascii: "{") {
            throw CLIError("--model \(url.path): a JSON file, not a safetensors file (pass the model folder, or "
                + "its model.safetensors)")
        }
        if head.starts(with: [0x50, 0x4B]) || head.first == 0x80 {
            throw CLIError("--model \(url.path): a PyTorch checkpoint, not a safetensors file (convert it with "
                + "safetensors.torch.save_file)")
        }
        // Anything else goes to the safetensors parser, whose errors say what is wrong with the header.
    }
}
