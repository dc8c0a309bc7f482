import Foundation
import Testing
import VitreousDemo
@testable import VitreousModel
import VitreousTensor

/// The planted-artifact model (RegisterRepair.md, "The planted-artifact model") through the real encoder on every backend: the
/// artifacts appear where and when they are planted, and test-time registers move them out of the patches.
@Suite("Planted artifacts")
struct PlantedArtifactTests {
    struct Run {
        let norms: [[Float]]        // per hidden-state index: patch norms [256]
        let registerNorms: [[Float]] // per hidden-state index: norms of tokens after the patches
        let attention: [Float]      // head 0 CLS attention over all tokens
        let firstPatch: Int
    }

    static func run(_ variant: PlantedArtifacts.Variant, layout: PlantedArtifacts.Layout, on device: Device,
                    shift: TestTimeRegisters? = nil, seed: UInt64 = 11) throws -> Run {
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: variant).tensors(on: device))
        let images = try Tensor(PlantedArtifacts.image(layout: layout, seed: seed), shape: [1, 3, 224, 224], on: device)
        let out = try encoder.encode(images, options: EncoderOptions(tokenNorms: true, clsAttention: true,
                                                                     testTimeRegisters: shift))
        let layers = try #require(out.tokenNorms).map { try $0.norms.toArray() }
        let patches = out.firstPatch..<(out.firstPatch + 256)
        return Run(norms: layers.map { Array($0[patches]) }, registerNorms: layers.map { Array($0[patches.upperBound...]) },
                   attention: Array(try #require(out.clsAttention).toArray()[0..<layers[0].count]),
                   firstPatch: out.firstPatch)
    }

    static let background = PlantedArtifacts.Layout.isolated.backgroundCells.map { $0.row * 16 + $0.column }

    @Test("background patches become artifacts from block 2 on, with the planted norms", arguments: encoderTestDevices)
    func plantedNorms(device: Device) throws {
        let run = try Self.run(.planted, layout: .isolated, on: device)
        // Hidden state i is the output of block i − 1; the register neuron is in block 2.
        for layer in 0...2 { #expect(run.norms[layer].max() ?? 0 < 50, "\(device) layer \(layer)") }
        for (layer, expected) in zip(3...6, [239, 247, 255, 263] as [Float]) {
            for cell in Self.background {
                #expect(abs(run.norms[layer][cell] - expected) < 0.05 * expected,
                        "\(device) layer \(layer) cell \(cell): \(run.norms[layer][cell])")
            }
            let others = run.norms[layer].indices.filter { !Self.background.contains($0) }.map { run.norms[layer][$0] }
            #expect(others.max() ?? 0 < 50, "\(device) layer \(layer)")
        }
        let onArtifacts = Self.background.reduce(0) { $0 + run.attention[run.firstPatch + $1] }
        #expect(onArtifacts >= 0.95, "\(device): head-0 CLS attention on the artifacts \(onArtifacts)")
    }

    @Test("no background, or no plant: nothing stands out", arguments: encoderTestDevices)
    func clean(device: Device) throws {
        for run in [try Self.run(.planted, layout: .none, on: device), try Self.run(.clean, layout: .isolated, on: device)] {
            for layer in run.norms.indices { #expect(run.norms[layer].max() ?? 0 < 50, "\(device) layer \(layer)") }
        }
    }

    @Test("test-time register on the planted neuron takes the artifact out of the patches", arguments: encoderTestDevices)
    func testTimeRegister(device: Device) throws {
        let run = try Self.run(.planted, layout: .isolated, on: device,
                               shift: TestTimeRegisters(neurons: [PlantedArtifacts.registerNeuron.layer:
                                                                    [PlantedArtifacts.registerNeuron.unit]]))
        for layer in run.norms.indices { #expect(run.norms[layer].max() ?? 0 <= 45, "\(device) layer \(layer)") }
        let register = run.registerNorms[6][0]
        #expect(abs(register - 263) < 0.05 * 263, "\(device): register norm \(register)")
        let onArtifacts = Self.background.reduce(0) { $0 + run.attention[run.firstPatch + $1] }
        #expect(onArtifacts <= 0.01, "\(device): attention left on the former artifacts \(onArtifacts)")
        let onRegister = run.attention[run.firstPatch + 256]
        #expect(onRegister >= 0.8, "\(device): attention on the test-time register \(onRegister)")

        // Moving a neuron that is not the register neuron leaves the artifacts where they were.
        let wrong = try Self.run(.planted, layout: .isolated, on: device,
                                 shift: TestTimeRegisters(neurons: [2: [100]]))
        #expect(wrong.norms[6].max() ?? 0 > 100)
    }

    @Test("a trained register absorbs the artifact and the CLS attention", arguments: encoderTestDevices)
    func trainedRegister(device: Device) throws {
        let run = try Self.run(.trainedRegister, layout: .none, on: device)
        #expect(run.firstPatch == 2)
        for layer in run.norms.indices { #expect(run.norms[layer].max() ?? 0 < 50, "\(device) layer \(layer)") }
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: .trainedRegister).tensors(on: device))
        let images = try Tensor(PlantedArtifacts.image(layout: .none, seed: 11), shape: [1, 3, 224, 224], on: device)
        let out = try encoder.encode(images, options: EncoderOptions(tokenNorms: true))
        let registerNorm = try #require(out.tokenNorms?.last).norms.toArray()[1]
        #expect(abs(registerNorm - 263) < 0.05 * 263, "\(device): register norm \(registerNorm)")
        #expect(run.attention[1] >= 0.85, "\(device): head-0 CLS attention on the register \(run.attention[1])")
    }
}
