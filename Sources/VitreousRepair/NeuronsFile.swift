import Foundation
import VitreousModel
import VitreousTensor

/// A `neurons.json` that cannot be read or used, naming the file: what `vitreous repair --neurons` and the C
/// API's `vitreous_registers_load` report.
public struct NeuronsFileError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public let path: String
    /// What is wrong with it, as a sentence fragment.
    public let problem: String
    /// True when the file is missing or unreadable, false when its content does not fit.
    public let isIO: Bool

    public var description: String { "\(path): \(problem)" }
}

/// `neurons.json`: test-time-register neurons and the fingerprint of the weights they were found on (the
/// `fc1` weights of their blocks), so a file found on one model is not applied to another by mistake. A second
/// fingerprint, of those weights rounded to bf16, lets a file found in float32 serve the same model run in
/// ``Precision/bf16`` (whose weights are the rounded ones).
public enum NeuronsFile {
    static let fingerprintKey = "weights_fingerprint"
    static let bf16FingerprintKey = "weights_fingerprint_bf16"

    /// Writes `registers` with the fingerprint of `weights`, atomically.
    public static func write(_ registers: TestTimeRegisters, weights: ViTHostWeights, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard var object = try JSONSerialization.jsonObject(with: try encoder.encode(registers)) as? [String: Any] else {
            throw NeuronsFileError(path: url.path, problem: "cannot encode the register neurons", isIO: false)
        }
        object[fingerprintKey] = try fingerprint(registers, weights: weights, path: url.path)
        object[bf16FingerprintKey] = try fingerprint(registers, weights: roundedToBF16(weights), path: url.path)
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: url)
    }

    /// Reads a neurons file; refuses one made for other weights unless `force`.
    public static func read(_ path: String, weights: ViTHostWeights, force: Bool) throws -> TestTimeRegisters {
        func fail(_ problem: String, io: Bool = false) -> NeuronsFileError {
            NeuronsFileError(path: path, problem: problem, isIO: io)
        }
        guard FileManager.default.fileExists(atPath: path) else { throw fail("no such file", io: true) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file", io: true) }
        let registers: TestTimeRegisters
        do {
            registers = try JSONDecoder().decode(TestTimeRegisters.self, from: data)
        } catch {
            throw fail("not a register-neuron file (write one with --find-neurons FOLDER)")
        }
        let depth = weights.blocks.count
        if let block = registers.neurons.keys.first(where: { !(0..<depth).contains($0) }) {
            throw fail("names block \(block + 1), but the model has blocks 1…\(depth)")
        }
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        let stored = object?[fingerprintKey] as? String, storedBF16 = object?[bf16FingerprintKey] as? String
        let actual = try fingerprint(registers, weights: weights, path: path)
        if stored != actual && storedBF16 != actual && !force {
            throw fail((stored == nil ? "records no model fingerprint" : "was made for other weights")
                + " (its blocks' fc1 weights differ); --force uses it anyway")
        }
        return registers
    }

    /// The fc1 weights rounded to bf16, as a ``Precision/bf16`` encoder holds them (the rest is not fingerprinted).
    static func roundedToBF16(_ weights: ViTHostWeights) -> ViTHostWeights {
        var rounded = weights
        for index in rounded.blocks.indices {
            rounded.blocks[index].fc1Weight = Precision.roundedToBF16(rounded.blocks[index].fc1Weight)
        }
        return rounded
    }

    static func fingerprint(_ registers: TestTimeRegisters, weights: ViTHostWeights, path: String) throws -> String {
        do {
            return try WeightFingerprint.registerNeurons(weights, layers: Array(registers.neurons.keys))
        } catch {
            throw NeuronsFileError(path: path, problem: "register neurons: \(error)", isIO: false)
        }
    }
}
