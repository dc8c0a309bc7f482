import Foundation
import Testing
@testable import VitreousModel
import VitreousTensor
import VitreousTesting

/// Every backend, with new allocations poisoned so an unwritten output element shows as NaN.
let encoderTestDevices: [Device] = {
    NaNPoisoning.isEnabled = true
    return Device.all
}()

/// ‖a − b‖ / ‖b‖ between a float32 result and a reference.
private func relativeError(_ values: [Float], _ reference: [Double]) -> Double {
    Reference.relativeError(values, reference)
}

/// The DINOv2 encoder against the PyTorch + transformers fixtures and against the float64 reference encoder.
/// Bounds: 1e-4 relative L2 on tokens, hidden states and CLS attention (float32 lands near 1e-6 here).
@Suite("Encoder")
struct EncoderTests {
    static let cases = ["tiny56", "tiny84x112"]

    @Test("matches PyTorch on every key layout, with and without registers, square and resampled",
          arguments: encoderTestDevices, Fixtures.models)
    func matchesFixtures(device: Device, model: String) throws {
        for (layout, file) in Fixtures.layoutFiles {
            // Only the Hugging Face folder has a config.json naming the head count; the others are told.
            let encoder = try ViTEncoder(contentsOf: Fixtures.url("\(model)/\(file)"), on: device,
                                         config: layout == .huggingFace ? nil : Fixtures.config(model))
            #expect(encoder.config.heads == 2)
            #expect(encoder.config.registerCount == (model == "tiny_reg4" ? 4 : 0))
            for name in Self.cases {
                let input = try NPYArray(contentsOf: Fixtures.url("inputs/\(name).npy"))
                let images = try Tensor(input.floats, shape: input.shape, on: device)
                let out = try encoder.encode(images, options: EncoderOptions(hiddenStates: true, tokenNorms: true,
                                                                             clsAttention: true))
                let context = "\(device) \(model) \(layout) \(name)"
                let expected = try NPYArray(contentsOf: Fixtures.url("\(model)/\(name)/last_hidden_state.npy"))
                #expect(out.tokens.shape == expected.shape, "\(context)")
                let tokenError = relativeError(try out.tokens.toArray(), expected.doubles)
                #expect(tokenError <= 1e-4, "\(context): last_hidden_state error \(tokenError)")

                // Hidden states [L+1, B, T, D] and their norms [L+1, B, T].
                let hidden = try NPYArray(contentsOf: Fixtures.url("\(model)/\(name)/hidden_states.npy"))
                let norms = try NPYArray(contentsOf: Fixtures.url("\(model)/\(name)/token_norms.npy"))
                let states = try #require(out.hiddenStates), layerNorms = try #require(out.tokenNorms)
                #expect(states.count == hidden.shape[0] && layerNorms.count == hidden.shape[0])
                let perLayer = hidden.shape.dropFirst().reduce(1, *), normsPerLayer = norms.shape.dropFirst().reduce(1, *)
                for layer in states.indices {
                    let reference = Array(hidden.doubles[(layer * perLayer)..<((layer + 1) * perLayer)])
                    let error = relativeError(try states[layer].toArray(), reference)
                    #expect(error <= 1e-4, "\(context): hidden state \(layer) error \(error)")
                    let normReference = Array(norms.doubles[(layer * normsPerLayer)..<((layer + 1) * normsPerLayer)])
                    let normError = relativeError(try layerNorms[layer].norms.toArray(), normReference)
                    #expect(normError <= 1e-4, "\(context): token norms \(layer) error \(normError)")
                }

                // CLS attention: query row 0 of attn_last [B, H, T, T].
                let attention = try NPYArray(contentsOf: Fixtures.url("\(model)/\(name)/attn_last.npy"))
                let (b, h, t) = (attention.shape[0], attention.shape[1], attention.shape[2])
                let clsRows = (0..<(b * h)).flatMap { Array(attention.doubles[($0 * t * t)..<($0 * t * t + t)]) }
                let cls = try #require(out.clsAttention)
                #expect(cls.shape == [b, h, t])
                let attentionError = relativeError(try cls.toArray(), clsRows)
                #expect(attentionError <= 1e-4, "\(context): CLS attention error \(attentionError)")
                #expect(out.patches.shape == [b, input.shape[2] / 14, input.shape[3] / 14, 64])
                #expect(out.cls.shape == [b, 64])
            }
        }
    }

    @Test("matches the float64 reference encoder on random configurations", arguments: encoderTestDevices)
    func matchesReference(device: Device) throws {
        let configs = [
            // Three heads of 32, four registers, a 5×3 grid resampled from 4×4 with antialiasing.
            ViTConfig(hiddenSize: 96, depth: 2, heads: 3, mlpHiddenSize: 128, registerCount: 4, positionGrid: 4),
            // SwiGLU (ViT-g's MLP), the original hub models' "+0.1" resampling, no registers.
            ViTConfig(hiddenSize: 64, depth: 2, heads: 1, mlpHiddenSize: 80, mlp: .swiglu, positionGrid: 3,
                      interpolation: .dinov2Original),
        ]
        for (index, config) in configs.enumerated() {
            let seed = UInt64.random(in: 0...UInt64.max)
            let host = try ViTHostWeights.random(config: config, seed: seed,
                                                 scales: RandomWeightScales(biasStd: 0.05, layerScale: 0.5, normJitter: 0.1))
            var generator = SplitMix64(seed: seed)
            let (batch, height, width) = (2, 70, 42)
            let pixels = generator.normal(batch * 3 * height * width)
            let encoder = ViTEncoder(weights: try host.tensors(on: device))
            let out = try encoder.encode(try Tensor(pixels, shape: [batch, 3, height, width], on: device),
                                         options: EncoderOptions(hiddenStates: true, clsAttention: true))
            let reference = try ReferenceEncoder.forward(try host.doubles(), images: pixels.map(Double.init),
                                                         batch: batch, height: height, width: width)
            let context = "\(device) config \(index) seed \(seed)"
            let error = relativeError(try out.tokens.toArray(), reference.tokens)
            #expect(error <= 1e-4, "\(context): tokens error \(error)")
            for (layer, state) in try #require(out.hiddenStates).enumerated() {
                let stateError = relativeError(try state.toArray(), reference.hiddenStates[layer])
                #expect(stateError <= 1e-4, "\(context): hidden state \(layer) error \(stateError)")
            }
            let attentionError = relativeError(try #require(out.clsAttention).toArray(), reference.clsAttention)
            #expect(attentionError <= 1e-4, "\(context): CLS attention error \(attentionError)")
            if let registers = out.registers { #expect(registers.shape == [batch, 4, config.hiddenSize]) }
        }
    }

    @Test("bad inputs are refused with a message", arguments: encoderTestDevices)
    func badInputs(device: Device) throws {
        let encoder = ViTEncoder(weights: try ViTHostWeights.random(config: Fixtures.config("tiny"), seed: 1)
            .tensors(on: device))
        #expect(errorText { _ = try encoder.encode(try .zeros(shape: [1, 3, 50, 56], on: device)) }
            .contains("not a multiple of the patch size"))
        #expect(errorText { _ = try encoder.encode(try .zeros(shape: [1, 1, 56, 56], on: device)) }
            .contains("images must be"))
        for other in encoderTestDevices where other != device {
            #expect(errorText { _ = try encoder.encode(try .zeros(shape: [1, 3, 56, 56], on: other)) }
                .contains("model is on"))
        }
    }
}
