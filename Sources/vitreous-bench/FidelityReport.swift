import Foundation
import VitreousDemo
import VitreousModel
import VitreousRepair
import VitreousTensor

/// `vitreous-bench --fidelity`: each reduced precision against fp32 on the same weights and images
/// (``PrecisionFidelity``), as a table or JSON — the numbers of the Precision article.
struct FidelityReport {
    let devices: [Device]
    let models: [String]
    let checkpoint: String?
    let input: String?
    let json: Bool

    /// One measured case: which model, on which device, in which precision.
    struct Row: Encodable {
        let model: String
        let device: String
        let fidelity: PrecisionFidelity
    }

    func run() throws {
        var rows: [Row] = []
        for device in devices {
            let precision: Precision = device == .cpu ? .bf16 : .fp16
            for (label, weights, images, registers) in try cases(on: device) {
                progress("\(device) \(precision): \(label)")
                do {
                    let fidelity = try PrecisionFidelity.measure(weights: weights, images: images, precision: precision,
                                                                 device: device, registers: registers)
                    rows.append(Row(model: label, device: device.description, fidelity: fidelity))
                } catch {
                    progress("\(device) \(precision): \(label): not measured (\(error))")
                }
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            print(Self.render(rows))
        }
    }

    /// The planted model with its register neuron, each `--models` size on seeded random weights (random 224 px
    /// inputs, one test-time register fed by ten neurons of the middle block), and a checkpoint when given.
    private func cases(on device: Device) throws -> [(String, ViTHostWeights, Tensor, TestTimeRegisters?)] {
        let size = PlantedArtifacts.imageSize
        let layouts: [PlantedArtifacts.Layout] = [.isolated, .block, .none]
        let planted = layouts.enumerated().flatMap { PlantedArtifacts.image(layout: $1, seed: UInt64($0 + 1)) }
        let neuron = PlantedArtifacts.registerNeuron
        var cases: [(String, ViTHostWeights, Tensor, TestTimeRegisters?)] = [
            ("planted DINOv2-style (D 64, 6 blocks)", try PlantedArtifacts.weights(variant: .planted),
             try Tensor(planted, shape: [layouts.count, 3, size, size], on: device),
             TestTimeRegisters(neurons: [neuron.layer: [neuron.unit]])),
        ]
        for label in models {
            let config = try EncoderBenchmarks.config(named: label)
            let images = try Tensor(benchmarkValues(2 * 3 * 224 * 224, seed: 9), shape: [2, 3, 224, 224], on: device)
            cases.append(("\(label) (seeded random weights)", try ViTHostWeights.random(config: config, seed: 1), images,
                          TestTimeRegisters(neurons: [config.depth / 2: Array(0..<10)])))
        }
        if let checkpoint {
            let weights = try ViTHostWeights.load(URL(fileURLWithPath: checkpoint))
            let images = try CheckpointBenchmark.inputBatch(input, on: device)
            cases.append(((checkpoint as NSString).lastPathComponent, weights, images, nil))
        }
        return cases
    }

    private func progress(_ text: String) {
        if !json { FileHandle.standardError.write(Data("  [fidelity] \(text)\n".utf8)) }
    }

    static func render(_ rows: [Row]) -> String {
        var lines = ["| model | device | precision | tokens rel. error | min CLS cos | min patch cos | "
                     + "norm maps max rel. diff | flagged (fp32) | flags differing | defect angle max | "
                     + "max patch norm with TTR (fp32 → reduced) |",
                     "|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in rows {
            let f = row.fidelity
            let repaired = f.maxPatchNormWithRegisters.map { String(format: "%.2f → %.2f", $0.fp32, $0.reduced) } ?? "–"
            let numbers = String(format: "%.2e | %.6f | %.6f | %.2e", f.tokensRelativeError, f.minCLSCosine,
                                 f.minPatchCosine, f.normMapMaxRelativeDifference.max() ?? 0)
            let angle = String(format: "%.3f°", f.defectAngleDegrees.max() ?? 0)
            lines.append("| \(row.model) | \(row.device) | \(f.precision) | \(numbers) | \(f.flagged32.reduce(0, +)) | "
                         + "\(f.flaggedDisagreements.reduce(0, +)) | \(angle) | \(repaired) |")
        }
        return lines.joined(separator: "\n")
    }
}
