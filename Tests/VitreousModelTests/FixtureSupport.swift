import Foundation
import Testing
@testable import VitreousModel
import VitreousTensor

/// The reference fixtures next to this file (see Fixtures/PROVENANCE.md), found through `#filePath` rather
/// than SwiftPM resources, whose `Bundle.module` crashes on Linux once the build folder has moved.
enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ relative: String) -> URL { folder.appendingPathComponent(relative) }

    /// The two reference models.
    static let models = ["tiny", "tiny_reg4"]
    /// The three files holding each model's weights, one per key layout.
    static let layoutFiles: [(CheckpointLayout, String)] = [
        (.original, "weights_orig.safetensors"),
        (.huggingFace, "hf/model.safetensors"),
        (.transformers5, "weights_hf_statedict.safetensors"),
    ]

    /// The configuration both reference models were made with.
    static func config(_ model: String) -> ViTConfig {
        ViTConfig(hiddenSize: 64, depth: 3, heads: 2, mlpHiddenSize: 256, registerCount: model == "tiny_reg4" ? 4 : 0,
                  positionGrid: 4)
    }
}

/// Runs `body` with a fresh empty folder under the system's temporary folder, removed afterwards.
func withTemporaryFolder<R>(_ body: (URL) throws -> R) throws -> R {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("vitreous-model-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder)
}

/// The text of the error `body` throws, or "" when it throws none.
func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return ""
    } catch {
        return String(describing: error)
    }
}

/// A safetensors file assembled byte by byte: `length` (default: the header's) as 8 little-endian bytes,
/// the header text, then `data`. For the format tests, which need files the writer would never make.
func handMadeSafetensors(header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
    let headerBytes = Array(header.utf8)
    var bytes = Data()
    withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: headerBytes)
    bytes.append(contentsOf: data)
    return bytes
}

/// Every parameter of `weights`, by slot, in forward-pass order: what "identical weights" compares.
func parameterList(_ weights: ViTHostWeights) -> [(String, [Float]?)] {
    ParameterSlot.all(for: weights.config).map { ("\($0)", weights[$0]) }
}

/// Expects the two sets of weights to have the same configuration and bit-identical parameters.
func expectIdentical(_ a: ViTHostWeights, _ b: ViTHostWeights, _ context: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.config == b.config, "\(context): configs differ", sourceLocation: sourceLocation)
    let left = parameterList(a), right = parameterList(b)
    #expect(left.count == right.count, "\(context): parameter counts differ", sourceLocation: sourceLocation)
    for ((name, x), (_, y)) in zip(left, right) {
        // Bit patterns: "identical" means exactly, -0 and NaN included.
        #expect(x != nil && x?.map(\.bitPattern) == y?.map(\.bitPattern), "\(context): \(name) differs",
                sourceLocation: sourceLocation)
    }
    #expect((a.blocks.first?.qkvBias == nil) == (b.blocks.first?.qkvBias == nil), sourceLocation: sourceLocation)
}

/// True when this run is CI, where a missing OpenCL device must fail instead of being skipped.
var runningInCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// Copies the fixture `source` to `edited.safetensors` in `folder`, leaving out `dropping` and adding `extra`:
/// checkpoints that break the loader in one chosen way.
func editedCheckpoint(_ source: String, in folder: URL, dropping: Set<String> = [],
                      extra: [(String, [Float], [Int])] = []) throws -> URL {
    let file = try SafetensorsFile(Fixtures.url(source))
    var writer = SafetensorsWriter()
    for name in file.names where !dropping.contains(name) {
        try writer.add(name, try file.floats(name), shape: try file.info(name).shape)
    }
    for (name, values, shape) in extra { try writer.add(name, values, shape: shape) }
    let url = folder.appendingPathComponent("edited.safetensors")
    try writer.write(to: url)
    return url
}
