import Foundation
import VitreousModel
import VitreousRepair

/// `neurons.json`: test-time-register neurons and the fingerprint of the weights they were found on (the
/// `fc1` weights of their blocks), so a file found on one model is not applied to another by mistake.
enum NeuronsFile {
    static let fingerprintKey = "weights_fingerprint"

    /// Writes `registers` with the fingerprint of `weights`.
    static func write(_ registers: TestTimeRegisters, weights: ViTHostWeights, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard var object = try JSONSerialization.jsonObject(with: try encoder.encode(registers)) as? [String: Any] else {
            throw CLIError("cannot encode the register neurons")
        }
        object[fingerprintKey] = try fingerprint(registers, weights: weights)
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: url)
    }

    /// Reads a neurons file; refuses one made for other weights unless `force`.
    static func read(_ path: String, weights: ViTHostWeights, force: Bool) throws -> TestTimeRegisters {
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("--neurons \(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("--neurons \(path): cannot read the file")
        }
        let registers: TestTimeRegisters
        do {
            registers = try JSONDecoder().decode(TestTimeRegisters.self, from: data)
        } catch {
            throw CLIError("--neurons \(path): not a register-neuron file (write one with --find-neurons FOLDER)")
        }
        let depth = weights.blocks.count
        if let block = registers.neurons.keys.first(where: { !(0..<depth).contains($0) }) {
            throw CLIError("--neurons \(path): names block \(block + 1), but the model has blocks 1…\(depth)")
        }
        let stored = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?[fingerprintKey] as? String
        let actual = try fingerprint(registers, weights: weights)
        if stored != actual && !force {
            throw CLIError("--neurons \(path): "
                + (stored == nil ? "records no model fingerprint" : "was made for other weights")
                + " (its blocks' fc1 weights differ); --force uses it anyway")
        }
        return registers
    }

    static func fingerprint(_ registers: TestTimeRegisters, weights: ViTHostWeights) throws -> String {
        do {
            return try WeightFingerprint.registerNeurons(weights, layers: Array(registers.neurons.keys))
        } catch {
            throw CLIError("register neurons: \(error)")
        }
    }
}
