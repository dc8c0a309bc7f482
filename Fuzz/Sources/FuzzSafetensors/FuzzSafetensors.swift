import Foundation
import FuzzDriver
import VitreousModel

// The bytes are a whole safetensors file, read through the in-memory entry point (the same header parser
// as a mapped file, without a temporary file per execution). Every tensor is looked up and converted, so
// that any entry the header check lets through is also read.

private let url = URL(fileURLWithPath: "/nonexistent/fuzz/model.safetensors")

@main
enum Harness {
    static func main() { exit(vitreous_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzSafetensors)) }
}

/// One execution: libFuzzer's `LLVMFuzzerTestOneInput`.
private func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Data(bytes: data, count: size)
    guard let file = try? SafetensorsFile(bytes: bytes, url: url) else { return 0 }
    _ = file.metadata.count
    for name in file.names {
        guard let info = try? file.info(name) else { fatalError("listed tensor '\(name)' has no info") }
        precondition(info.dataOffsets.upperBound <= size, "offsets past the input")
        do {
            let values = try file.floats(name)
            precondition(info.dtype.isReadableAsFloat, "a \(info.dtype) tensor read as float")
            precondition(values.count == info.count, "\(values.count) values for shape \(info.shape)")
        } catch {
            precondition(!info.dtype.isReadableAsFloat, "a readable tensor failed: \(error)")
        }
    }
    _ = try? CheckpointLayout.detect(in: file)
    return 0
}
