import Foundation
import Testing
@testable import VitreousModel
import VitreousTensor
import VitreousTesting

/// The DINOv3 fixtures (Fixtures/dinov3, made by Scripts/make-dinov3-fixtures.py with transformers'
/// DINOv3ViTModel).
enum DINOv3Fixtures {
    static let models = ["gelu", "swiglu"]
    static let cases = ["square64", "rect48x80"]
    /// Both key layouts of each model; the Hugging Face one has its config.json beside it.
    static let layoutFiles: [(CheckpointLayout, String)] = [
        (.dinov3HuggingFace, "hf/model.safetensors"), (.dinov3Original, "weights_orig.safetensors"),
    ]

    static func url(_ relative: String) -> URL { Fixtures.url("dinov3/" + relative) }

    /// What the fixture script made each model with.
    static func config(_ model: String) -> ViTConfig {
        let swiglu = model == "swiglu"
        return ViTConfig(patchSize: 16, hiddenSize: 64, depth: swiglu ? 3 : 2, heads: swiglu ? 2 : 4,
                         mlpHiddenSize: swiglu ? 176 : 256, mlp: swiglu ? .swiglu : .gelu, registerCount: 4,
                         positionGrid: 4, layerNormEps: 1e-5, family: .dinov3, ropeTheta: 100)
    }
}

/// The largest |a − b| over two arrays of one length (infinite when the lengths differ or a value is NaN).
private func maxAbsoluteError(_ values: [Float], _ reference: [Double]) -> Double {
    guard values.count == reference.count else { return .infinity }
    return zip(values, reference).reduce(0) { worst, pair in
        let error = abs(Double(pair.0) - pair.1)
        return error.isNaN ? .infinity : max(worst, error)
    }
}

/// DINOv3 against transformers: final tokens, every hidden state and the last block's CLS attention within
/// 1e-4 absolute (float32 lands near 2e-6 here), on every backend, in both key layouts, square and rectangular
/// grids, batches of 2.
@Suite("DINOv3")
struct DINOv3Tests {
    @Test("matches transformers' DINOv3ViTModel in both key layouts", arguments: encoderTestDevices, DINOv3Fixtures.models)
    func matchesTransformers(device: Device, model: String) throws {
        for (layout, file) in DINOv3Fixtures.layoutFiles {
            let url = DINOv3Fixtures.url("\(model)/\(file)")
            #expect(try CheckpointLayout.detect(in: SafetensorsFile(url)).layout == layout)
            // Everything is inferred; the original file has no config.json, so it is told the head count (D/64
            // would be right for every DINOv3 release but not for these tiny models) and its native grid is the
            // 224 px default.
            var expected = DINOv3Fixtures.config(model)
            let encoder = ViTEncoder(weights: try ViTWeights.load(url, on: device,
                                                                  heads: layout == .dinov3Original ? expected.heads : nil))
            if layout == .dinov3Original { expected.positionGrid = 14 }
            #expect(encoder.config == expected, "\(layout): inferred \(encoder.config)")
            try compare(encoder, device: device, model: model, layout: layout)
        }
    }

    private func compare(_ encoder: ViTEncoder, device: Device, model: String, layout: CheckpointLayout) throws {
        for name in DINOv3Fixtures.cases {
            let input = try NPYArray(contentsOf: DINOv3Fixtures.url("inputs/\(name).npy"))
            let images = try Tensor(input.floats, shape: input.shape, on: device)
            let out = try encoder.encode(images, options: EncoderOptions(hiddenStates: true, clsAttention: true))
            let context = "\(device) \(model) \(layout) \(name)"
            let expected = try NPYArray(contentsOf: DINOv3Fixtures.url("\(model)/\(name)/last_hidden_state.npy"))
            #expect(out.tokens.shape == expected.shape, "\(context)")
            let tokenError = maxAbsoluteError(try out.tokens.toArray(), expected.doubles)
            #expect(tokenError <= 1e-4, "\(context): last_hidden_state max error \(tokenError)")

            let hidden = try NPYArray(contentsOf: DINOv3Fixtures.url("\(model)/\(name)/hidden_states.npy"))
            let states = try #require(out.hiddenStates)
            #expect(states.count == hidden.shape[0], "\(context)")
            let perLayer = hidden.shape.dropFirst().reduce(1, *)
            for layer in states.indices {
                let reference = Array(hidden.doubles[(layer * perLayer)..<((layer + 1) * perLayer)])
                let error = maxAbsoluteError(try states[layer].toArray(), reference)
                #expect(error <= 1e-4, "\(context): hidden state \(layer) max error \(error)")
            }

            let attention = try NPYArray(contentsOf: DINOv3Fixtures.url("\(model)/\(name)/cls_attention.npy"))
            let cls = try #require(out.clsAttention)
            #expect(cls.shape == attention.shape, "\(context)")
            let attentionError = maxAbsoluteError(try cls.toArray(), attention.doubles)
            #expect(attentionError <= 1e-4, "\(context): CLS attention max error \(attentionError)")
            let grid = (input.shape[2] / 16, input.shape[3] / 16)
            #expect(out.patches.shape == [input.shape[0], grid.0, grid.1, 64], "\(context)")
            #expect(out.registers?.shape == [input.shape[0], 4, 64], "\(context)")
        }
    }

    @Test("the float64 reference encoder matches transformers, and the encoder matches it on random weights",
          arguments: encoderTestDevices)
    func matchesReference(device: Device) throws {
        // The reference itself against transformers, on the SwiGLU model's rectangular case.
        let weights = try ViTHostWeights.load(DINOv3Fixtures.url("swiglu/hf/model.safetensors"))
        let input = try NPYArray(contentsOf: DINOv3Fixtures.url("inputs/rect48x80.npy"))
        let reference = try ReferenceEncoder.forward(try weights.doubles(), images: input.doubles, batch: 2,
                                                     height: 48, width: 80)
        let expected = try NPYArray(contentsOf: DINOv3Fixtures.url("swiglu/rect48x80/last_hidden_state.npy"))
        let referenceError = zip(reference.tokens, expected.doubles).map { abs($0 - $1) }.max() ?? .infinity
        #expect(referenceError <= 1e-4, "float64 reference vs transformers: \(referenceError)")

        // Random weights on odd grids (7×3 and 1×5), test-time registers appended: the encoder vs the reference.
        var config = DINOv3Fixtures.config("gelu")
        config.heads = 2
        let seed = UInt64.random(in: 0...UInt64.max)
        let host = try ViTHostWeights.random(config: config, seed: seed,
                                             scales: RandomWeightScales(biasStd: 0.05, layerScale: 0.5, normJitter: 0.1))
        let encoder = ViTEncoder(weights: try host.tensors(on: device))
        for (height, width) in [(112, 48), (16, 80)] {
            var generator = SplitMix64(seed: seed &+ UInt64(height))
            let pixels = generator.normal(2 * 3 * height * width)
            let out = try encoder.encode(try Tensor(pixels, shape: [2, 3, height, width], on: device),
                                         options: EncoderOptions(hiddenStates: true, clsAttention: true))
            let expected = try ReferenceEncoder.forward(try host.doubles(), images: pixels.map(Double.init), batch: 2,
                                                        height: height, width: width)
            let context = "\(device) \(height)×\(width) seed \(seed)"
            let error = maxAbsoluteError(try out.tokens.toArray(), expected.tokens)
            #expect(error <= 1e-4, "\(context): tokens max error \(error)")
            let attentionError = maxAbsoluteError(try #require(out.clsAttention).toArray(), expected.clsAttention)
            #expect(attentionError <= 1e-4, "\(context): CLS attention max error \(attentionError)")
        }
    }

    @Test("the original layout's masked K bias is zero after loading, as transformers' missing one")
    func keyBiasMasked() throws {
        let original = try ViTHostWeights.load(DINOv3Fixtures.url("gelu/weights_orig.safetensors"),
                                               config: DINOv3Fixtures.config("gelu"))
        let hub = try ViTHostWeights.load(DINOv3Fixtures.url("gelu/hf/model.safetensors"))
        let raw = try SafetensorsFile(DINOv3Fixtures.url("gelu/weights_orig.safetensors")).floats("blocks.0.attn.qkv.bias")
        #expect(raw[64..<128].contains { $0 != 0 }, "the fixture's stored K bias must be non-zero for this test")
        for (a, b) in zip(original.blocks, hub.blocks) {
            let bias = try #require(a.qkvBias)
            #expect(bias[64..<128].allSatisfy { $0 == 0 })
            #expect(bias == b.qkvBias)
            #expect(a.qkvWeight == b.qkvWeight && a.fc1Weight == b.fc1Weight && a.layerScale2 == b.layerScale2)
        }
    }

    @Test("weights written in either DINOv3 layout read back identical", arguments: DINOv3Fixtures.models)
    func roundTrip(model: String) throws {
        let weights = try ViTHostWeights.load(DINOv3Fixtures.url("\(model)/hf/model.safetensors"))
        try withTemporaryFolder { folder in
            for layout in [CheckpointLayout.dinov3Original, .dinov3HuggingFace] {
                let url = folder.appendingPathComponent("\(layout.rawValue).safetensors")
                try weights.write(to: url, layout: layout, prefix: layout == .dinov3Original ? "" : "model.")
                let file = try SafetensorsFile(url)
                #expect(try CheckpointLayout.detect(in: file).layout == layout)
                var read = try ViTHostWeights.load(url)
                read.config.positionGrid = weights.config.positionGrid  // no config.json: the 224 px default
                expectIdentical(read, weights, "\(model) \(layout)")
            }
        }
    }

    @Test("presets follow the original's sizes and the SwiGLU hidden-size rule")
    func presets() throws {
        #expect(ViTConfig.dinov3SwiGLUHiddenSize(hiddenSize: 384, ratio: 6) == 1536)
        #expect(ViTConfig.dinov3SwiGLUHiddenSize(hiddenSize: 1280, ratio: 6) == 5120)
        #expect(ViTConfig.dinov3SwiGLUHiddenSize(hiddenSize: 4096, ratio: 3, alignment: 64) == 8192)
        #expect(ViTConfig.dinov3SwiGLUHiddenSize(hiddenSize: 64, ratio: 4) == 176)
        for config in [ViTConfig.dinov3Small, .dinov3SmallPlus, .dinov3Base, .dinov3Large, .dinov3HugePlus,
                       .dinov3Giant7B] {
            try config.validate()
            #expect(config.family == .dinov3 && config.patchSize == 16 && config.registerCount == 4)
        }
        #expect(ViTConfig.dinov3Giant7B.headDimension == 128 && !ViTConfig.dinov3Giant7B.hasQKVBias)
    }

    @Test("bad DINOv3 checkpoints are refused naming the key")
    func badCheckpoints() throws {
        let weights = try ViTHostWeights.load(DINOv3Fixtures.url("gelu/hf/model.safetensors"))
        try withTemporaryFolder { folder in
            // A configuration's θ gives way to the periods the checkpoint stores.
            let url = folder.appendingPathComponent("orig.safetensors")
            try weights.write(to: url, layout: .dinov3Original)
            var other = weights.config
            other.ropeTheta = 50
            other.positionGrid = 14
            let loaded = try ViTHostWeights.load(url, config: other)
            #expect(loaded.config.ropeTheta == 100 && loaded.config.ropePeriods == nil, "\(loaded.config)")
            // A DINOv2 configuration for DINOv3 weights.
            #expect(errorText { _ = try ViTHostWeights.load(url, config: Fixtures.config("tiny")) }
                .contains("dinov3 checkpoint"))
            // A head dimension the rotary embedding cannot split.
            var odd = weights.config
            odd.heads = 32
            #expect(errorText { try odd.validate() }.contains("divisible by 4"))
        }
    }

    /// Periods of the min/max parametrisation (first ≠ 1): θ^(4f/16) for no θ. The gelu model has heads of 16.
    static let nonThetaPeriods: [Float] = [0.5, 2.25, 7.5, 40]

    @Test("stored RoPE periods that no θ gives are used as stored and match the reference computed from them",
          arguments: encoderTestDevices)
    func storedPeriods(device: Device) throws {
        var weights = try ViTHostWeights.load(DINOv3Fixtures.url("gelu/hf/model.safetensors"))
        weights.config.positionGrid = 14
        weights.config.ropePeriods = DINOv3Tests.nonThetaPeriods
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("orig.safetensors")
            try weights.write(to: url, layout: .dinov3Original)
            let loaded = try ViTHostWeights.load(url, heads: weights.config.heads)
            #expect(loaded.config.ropePeriods == DINOv3Tests.nonThetaPeriods)
            // The base of their spacing, (40/0.5)^(16/(4·3)) = 344.7, rounded to an integer within 0.1 %.
            #expect(loaded.config.ropeTheta == 345, "\(loaded.config)")
            #expect("\(loaded.config)".contains("RoPE periods 0.5…40.0 as stored"), "\(loaded.config)")

            // The tables are the original's angle 2π·coordinate/period (grid 3×5, row 1, column 4: x = 0.8).
            let tables = RotaryTables(gridHeight: 3, gridWidth: 5, config: loaded.config)
            for (f, period) in DINOv3Tests.nonThetaPeriods.enumerated() {
                let base = (1 * 5 + 4) * 8
                #expect(abs(Double(tables.cos[base + f]) - 1) < 1e-6)  // y = 0
                #expect(abs(Double(tables.sin[base + 4 + f]) - sin(2 * Double.pi * 0.8 / Double(period))) < 2e-6)
            }

            let encoder = ViTEncoder(weights: try loaded.tensors(on: device))
            let input = try NPYArray(contentsOf: DINOv3Fixtures.url("inputs/rect48x80.npy"))
            let out = try encoder.encode(try Tensor(input.floats, shape: input.shape, on: device))
            let reference = try ReferenceEncoder.forward(try loaded.doubles(), images: input.doubles, batch: 2,
                                                         height: 48, width: 80)
            let error = maxAbsoluteError(try out.tokens.toArray(), reference.tokens)
            #expect(error <= 1e-4, "\(device): tokens max error \(error) against the stored-period reference")
            // The periods matter: θ 100's rotation gives other tokens.
            var theta = loaded
            theta.config.ropePeriods = nil
            theta.config.ropeTheta = 100
            let other = try ReferenceEncoder.forward(try theta.doubles(), images: input.doubles, batch: 2,
                                                     height: 48, width: 80)
            #expect(maxAbsoluteError(try out.tokens.toArray(), other.tokens) > 1e-2)
        }
    }

    @Test("NaN, zero or negative stored RoPE periods are refused with a one-line error",
          arguments: [Float.nan, 0, -2, Float.infinity])
    func badPeriods(value: Float) throws {
        var weights = try ViTHostWeights.load(DINOv3Fixtures.url("gelu/hf/model.safetensors"))
        weights.config.ropePeriods = [1, value, 10, 31.6]
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("orig.safetensors")
            try weights.write(to: url, layout: .dinov3Original)
            var config = weights.config
            config.ropePeriods = nil
            for text in [errorText { _ = try ViTHostWeights.load(url, heads: 4) },
                         errorText { _ = try ViTHostWeights.load(url, config: config) }] {
                #expect(text.contains("'rope_embed.periods' period 1 is \(value)") && text.contains(url.path), "\(text)")
                #expect(text.contains("finite and positive") && !text.contains("\n"), "\(text)")
            }
            var hand = config
            hand.ropePeriods = [1, value, 10, 31.6]
            #expect(errorText { try hand.validate() }.contains("ropePeriods[1] is \(value)"))
        }
    }
}
