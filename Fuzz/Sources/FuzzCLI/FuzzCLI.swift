import ArgumentParser
import Foundation
import FuzzDriver
@testable import VitreousCLI
import VitreousModel

// The bytes are an argument line, one argument per line, parsed by the root command as `vitreous` parses its
// arguments (validation included, nothing run), then given to the option parsers the commands call before
// loading anything (--size, --layers). Bytes starting with `{` are a register-neuron file for
// `repair --neurons` instead. Loading `--model` is FuzzCheckpoint's part: ArgumentParser takes milliseconds
// per parse, which would leave the loader a small share of the executions.
// Needs `-enable-testing` (Scripts/fuzz.sh passes it): the command types are internal.

@main
enum Harness {
    static func main() { exit(vitreous_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzCLI)) }
}

/// One execution: libFuzzer's `LLVMFuzzerTestOneInput`.
private func fuzzCLI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Data(bytes: data, count: size)
    if bytes.first == UInt8(ascii: "{") {
        _ = try? JSONDecoder().decode(TestTimeRegisters.self, from: bytes)
        return 0
    }
    let arguments = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        .map(String.init)
    let command: ParsableCommand
    do {
        command = try VitreousCommand.parseAsRoot(arguments)
    } catch {
        // The message a user would see; not `fullMessage`, whose usage text (ArgumentParser's own code)
        // would take most of each execution.
        _ = VitreousCommand.message(for: error)
        return 0
    }
    var model: ModelOptions?
    var layers: String?
    switch command {
    case let encode as Encode: (model, layers) = (encode.modelOptions, encode.layers)
    case let maps as AttentionMaps: model = maps.modelOptions
    case let maps as NormMaps: (model, layers) = (maps.modelOptions, maps.layers)
    case let repair as Repair: model = repair.modelOptions
    default: break
    }
    if let model {
        _ = try? model.resizePolicy(patch: 14)
    }
    for depth in [1, 12, 40] { _ = try? layerSelection(layers, depth: depth) }
    return 0
}
