import Foundation
import FuzzDriver
import VitreousModel
import VitreousTensor

// The bytes are a checkpoint loaded as `vitreous … --model` loads it: layout detection, configuration
// inference, key and shape checks, conversion, upload to the CPU device, the encoder built on the weights.
// The first byte is the head count times two (0: none given), plus one when a config.json comes first: then
// the bytes up to the first NUL are written as config.json beside the checkpoint, and the rest is the
// checkpoint.

@main
enum Harness {
    static func main() { exit(vitreous_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzCheckpoint)) }
}

/// A folder of this process's own for config.json, removed when libFuzzer exits normally.
private let folder: URL = {
    let url = scratchFolder()
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: scratchFolder()) }
    return url
}()

private func scratchFolder() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-fuzz-checkpoint-\(getpid())")
}
/// A path in no folder, so no config.json is found beside it.
private let bare = URL(fileURLWithPath: "/nonexistent/fuzz/model.safetensors")

/// One execution: libFuzzer's `LLVMFuzzerTestOneInput`.
private func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let heads = data[0] >> 1 == 0 ? nil : Int(data[0] >> 1)
    var checkpoint = Data(bytes: data + 1, count: size - 1)
    var url = bare
    if data[0] & 1 == 1 {
        let split = checkpoint.firstIndex(of: 0) ?? checkpoint.endIndex
        url = folder.appendingPathComponent("model.safetensors")
        let config = folder.appendingPathComponent("config.json")
        guard (try? checkpoint[..<split].write(to: config)) != nil else { fatalError("cannot write \(config.path)") }
        checkpoint = Data(checkpoint[min(split + 1, checkpoint.endIndex)...])
    }
    guard let file = try? SafetensorsFile(bytes: checkpoint, url: url),
          let config = try? ViTConfig.inferred(from: file, heads: heads)
    else { return 0 }
    precondition((try? config.validate()) != nil, "inferred an invalid \(config)")
    guard let weights = try? ViTHostWeights.load(file, config: config).tensors(on: .cpu) else { return 0 }
    precondition(weights.blocks.count == config.depth, "\(weights.blocks.count) blocks for \(config)")
    _ = ViTEncoder(weights: weights)
    return 0
}
