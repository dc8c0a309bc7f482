import Foundation
import Testing
@testable import VitreousModel
import VitreousTensor

@Suite("weights loading")
struct WeightsLoadingTests {
    @Test("the three key layouts load to identical weights", arguments: Fixtures.models)
    func layoutsAgree(model: String) throws {
        let config = Fixtures.config(model)
        var loaded: [ViTHostWeights] = []
        for (layout, file) in Fixtures.layoutFiles {
            let url = Fixtures.url("\(model)/\(file)")
            #expect(try CheckpointLayout.detect(in: SafetensorsFile(url)).layout == layout)
            loaded.append(try ViTHostWeights.load(url, heads: 2))
        }
        for (index, weights) in loaded.enumerated() {
            #expect(weights.config == config, "\(Fixtures.layoutFiles[index].1): \(weights.config)")
            expectIdentical(loaded[0], weights, "\(model): original vs \(Fixtures.layoutFiles[index].0)")
        }
        // The fused qkv is Q, K, V stacked; the patch kernel flattened per output channel.
        let hub = try SafetensorsFile(Fixtures.url("\(model)/hf/model.safetensors"))
        let weights = loaded[0]
        let query = try hub.floats("encoder.layer.1.attention.attention.query.weight")
        let value = try hub.floats("encoder.layer.1.attention.attention.value.bias")
        #expect(Array(weights.blocks[1].qkvWeight[0..<(64 * 64)]) == query)
        #expect(Array(weights.blocks[1].qkvBias?[128..<192] ?? []) == value)
        #expect(weights.patchEmbedWeight == (try hub.floats("embeddings.patch_embeddings.projection.weight")))
        #expect((weights.registerTokens?.count ?? 0) == config.registerCount * 64)
    }

    @Test("the configuration is inferred from the tensor shapes", arguments: Fixtures.models)
    func inference(model: String) throws {
        let expected = Fixtures.config(model)
        #expect(expected.interpolation == (model == "tiny" ? .bicubic : .bicubicAntialiased))
        // config.json beside the Hugging Face weights supplies the head count...
        let hub = try ViTConfig.inferred(from: SafetensorsFile(Fixtures.url("\(model)/hf/model.safetensors")))
        #expect(hub == expected)
        #expect(hub.headDimension == 32 && hub.mlp == .gelu && hub.hasLayerScale && hub.hasQKVBias)
        // ...without one it is D/64 unless given.
        for file in ["weights_orig.safetensors", "weights_hf_statedict.safetensors"] {
            let weights = try SafetensorsFile(Fixtures.url("\(model)/\(file)"))
            #expect(try ViTConfig.inferred(from: weights, heads: 2) == expected)
            #expect(try ViTConfig.inferred(from: weights).heads == 1)
        }
    }

    @Test("weights land on every device unchanged")
    func devices() throws {
        if runningInCI && Device.openCLDevices.isEmpty {
            Issue.record("CI=true but no OpenCL device: \(Device.openCLProblem ?? "none")")
        }
        let url = Fixtures.url("tiny_reg4/hf/model.safetensors")
        let host = try ViTHostWeights.load(url)
        for device in Device.all {
            let weights = try ViTWeights.load(url, on: device)
            #expect(weights.device == device)
            #expect(weights.blocks[2].qkvWeight.shape == [192, 64])
            #expect(weights.patchEmbedWeight.shape == [64, 588])
            #expect(weights.positionEmbedding?.shape == [17, 64])
            #expect(weights.registerTokens?.shape == [4, 64])
            #expect(weights.clsToken.shape == [64])
            expectIdentical(try weights.host(), host, "\(device)")
        }
    }

    @Test("random weights are deterministic and survive every layout, prefixed or not",
          arguments: CheckpointLayout.allCases)
    func randomRoundTrip(layout: CheckpointLayout) throws {
        // SwiGLU with registers and no qkv bias/LayerScale exercises every optional path of the key maps.
        let configs = [
            ViTConfig(hiddenSize: 48, depth: 2, heads: 3, mlpHiddenSize: 40, mlp: .swiglu, registerCount: 4,
                      positionGrid: 3),
            ViTConfig(hiddenSize: 32, depth: 3, heads: 2, mlpHiddenSize: 64, positionGrid: 2,
                      hasLayerScale: false, hasQKVBias: false),
        ]
        try withTemporaryFolder { folder in
            for var config in configs {
                if layout.family == .dinov3 {
                    // The family follows the layout; with no table the native grid is 224 px over the patch, and
                    // without a config.json the eps is DINOv3's 1e-5.
                    (config.family, config.positionGrid, config.layerNormEps) = (.dinov3, 224 / config.patchSize, 1e-5)
                }
                let weights = try ViTHostWeights.random(config: config, seed: 7)
                expectIdentical(weights, try ViTHostWeights.random(config: config, seed: 7), "same seed")
                #expect(weights.clsToken != (try ViTHostWeights.random(config: config, seed: 8)).clsToken)
                for prefix in ["", "dinov2."] {
                    let url = folder.appendingPathComponent("\(layout.rawValue)-\(config.mlp)\(prefix).safetensors")
                    try weights.write(to: url, layout: layout, prefix: prefix)
                    let file = try SafetensorsFile(url)
                    #expect(try CheckpointLayout.detect(in: file) == (layout, prefix))
                    #expect(try ViTConfig.inferred(from: file, heads: config.heads) == config)
                    let loaded = try ViTHostWeights.load(file, heads: config.heads)
                    expectIdentical(weights, loaded, "\(layout) \(config.mlp) '\(prefix)'")
                    if !config.hasLayerScale { #expect(loaded.blocks[0].layerScale2.allSatisfy { $0 == 1 }) }
                    if !config.hasQKVBias { #expect(loaded.blocks[0].qkvBias == nil) }
                }
            }
        }
    }

    @Test("random weights follow the requested scales")
    func randomScales() throws {
        let config = ViTConfig(hiddenSize: 64, depth: 1, heads: 1, mlpHiddenSize: 256, positionGrid: 8)
        let weights = try ViTHostWeights.random(config: config, seed: 1)
        let fc1 = weights.blocks[0].fc1Weight
        let std = (fc1.reduce(0) { $0 + Double($1 * $1) } / Double(fc1.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.001, "std \(std)")
        #expect(weights.blocks[0].norm1Weight.allSatisfy { $0 == 1 } && weights.normBias.allSatisfy { $0 == 0 })
        #expect(weights.blocks[0].layerScale1.allSatisfy { $0 == 0.1 })
        let jittered = try ViTHostWeights.random(config: config, seed: 1, scales: RandomWeightScales(normJitter: 0.1))
        #expect(jittered.normBias.contains { $0 != 0 })
        #expect(errorText { _ = try ViTHostWeights.random(config: ViTConfig(hiddenSize: 10, depth: 1, heads: 3,
                                                                            mlpHiddenSize: 4), seed: 0) }
            .contains("hiddenSize 10 is not divisible by 3 heads"))
    }
}

/// A checkpoint that breaks the model: each error names the file, the key and what was expected.
@Suite("weights loading errors")
struct WeightsLoadingErrorTests {
    @Test("missing keys are listed")
    func missingKey() throws {
        try withTemporaryFolder { folder in
            let url = try editedCheckpoint("tiny/hf/model.safetensors", in: folder,
                                           dropping: ["encoder.layer.1.attention.attention.key.weight",
                                                      "layernorm.bias"])
            let text = errorText { _ = try ViTHostWeights.load(url, heads: 2) }
            #expect(text.hasPrefix(url.path + ": keys do not match a DINOv2 checkpoint in the Hugging Face layout"), "\(text)")
            #expect(text.contains("missing keys: encoder.layer.1.attention.attention.key.weight, layernorm.bias"), "\(text)")
            #expect(!text.contains("unexpected"), "\(text)")
        }
    }

    @Test("unexpected keys are listed, or accepted when asked")
    func unexpectedKey() throws {
        try withTemporaryFolder { folder in
            let url = try editedCheckpoint("tiny/weights_orig.safetensors", in: folder,
                                           extra: [("head.weight", [1, 2], [1, 2]), ("blocks.0.attn.extra", [0], [1])])
            let text = errorText { _ = try ViTHostWeights.load(url, heads: 2) }
            #expect(text.contains("original facebookresearch/dinov2 layout; unexpected keys: blocks.0.attn.extra, head.weight"),
                    "\(text)")
            let weights = try ViTHostWeights.load(url, heads: 2, allowUnexpectedKeys: true)
            expectIdentical(weights, try ViTHostWeights.load(Fixtures.url("tiny/weights_orig.safetensors"), heads: 2),
                            "extra keys ignored")
        }
    }

    @Test("a block too many or too few is reported by key")
    func depthMismatch() throws {
        var config = Fixtures.config("tiny")
        config.depth = 2
        let text = errorText { _ = try ViTHostWeights.load(Fixtures.url("tiny/weights_orig.safetensors"), config: config) }
        #expect(text.contains("unexpected keys: blocks.2.attn.proj.bias"), "\(text)")
        config.depth = 4
        let more = errorText { _ = try ViTHostWeights.load(Fixtures.url("tiny/weights_orig.safetensors"), config: config) }
        #expect(more.contains("missing keys: blocks.3.norm1.weight, blocks.3.norm1.bias, blocks.3.attn.qkv.weight"), "\(more)")
    }

    @Test("a shape that does not fit the configuration names the key, its shape and the expected shape")
    func shapeMismatch() throws {
        var config = Fixtures.config("tiny")
        config.mlpHiddenSize = 128
        let url = Fixtures.url("tiny/weights_hf_statedict.safetensors")
        let text = errorText { _ = try ViTHostWeights.load(url, config: config) }
        #expect(text == "\(url.path): tensor 'encoder.layer.0.mlp.fc1.weight' has shape [256, 64] but the "
            + "configuration needs [128, 64]", "\(text)")
        config = Fixtures.config("tiny")
        config.positionGrid = 5
        #expect(errorText { _ = try ViTHostWeights.load(url, config: config) }
            .contains("'embeddings.position_embeddings' has shape [1, 17, 64] but the configuration needs [1, 26, 64]"))
    }

    @Test("a tensor whose shape breaks inference is named")
    func inferenceErrors() throws {
        try withTemporaryFolder { folder in
            let url = try editedCheckpoint("tiny/weights_orig.safetensors", in: folder, dropping: ["pos_embed"],
                                           extra: [("pos_embed", [Float](repeating: 0, count: 16 * 64), [1, 16, 64])])
            #expect(errorText { _ = try ViTHostWeights.load(url) }
                .contains("'pos_embed' has shape [1, 16, 64]: 16 rows are not 1 + a square grid"))
        }
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("other.safetensors")
            var writer = SafetensorsWriter()
            try writer.add("conv1.weight", [1], shape: [1])
            try writer.write(to: url)
            #expect(errorText { _ = try ViTHostWeights.load(url) }.contains("no CLS token key"))
        }
        try withTemporaryFolder { folder in
            let url = try editedCheckpoint("tiny/weights_orig.safetensors", in: folder,
                                           extra: [("student.cls_token", [Float](repeating: 0, count: 64), [1, 1, 64])])
            #expect(errorText { _ = try ViTHostWeights.load(url) }
                .contains("several CLS token keys (cls_token, student.cls_token)"))
        }
    }
}
