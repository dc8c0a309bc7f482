import Foundation
import Testing
import VitreousModel

@Suite("ViT configuration")
struct ConfigTests {
    @Test("the presets are the DINOv2 sizes")
    func presets() throws {
        let sizes: [(ViTConfig, Int, Int, Int, Int)] = [
            (.small, 384, 12, 6, 1536), (.base, 768, 12, 12, 3072), (.large, 1024, 24, 16, 4096),
            (.giant, 1536, 40, 24, 4096),
        ]
        for (config, hidden, depth, heads, mlp) in sizes {
            try config.validate()
            #expect(config.hiddenSize == hidden && config.depth == depth && config.heads == heads
                && config.mlpHiddenSize == mlp, "\(config)")
            #expect(config.headDimension == 64 && config.patchSize == 14 && config.positionGrid == 37)
            #expect(config.registerCount == 0 && config.interpolation == .bicubic)
            #expect(config.layerNormEps == 1e-6 && config.hasLayerScale && config.hasQKVBias)
            let registers = config.withRegisters()
            #expect(registers.registerCount == 4 && registers.interpolation == .bicubicAntialiased)
            #expect(registers.tokenCount(gridHeight: 16, gridWidth: 16) == 261)
        }
        #expect(ViTConfig.giant.mlp == .swiglu && ViTConfig.giant.mlpInputRows == 8192)
        #expect(ViTConfig.large.mlp == .gelu && ViTConfig.large.mlpInputRows == 4096)
    }

    @Test("a configuration survives JSON")
    func codable() throws {
        var config = ViTConfig.giant.withRegisters()
        config.interpolation = .dinov2Original
        let data = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(ViTConfig.self, from: data) == config)
    }

    @Test("an impossible configuration is refused")
    func invalid() throws {
        var config = ViTConfig.small
        config.depth = 0
        #expect(errorText { try config.validate() }.contains("depth is 0"))
        config = .small
        config.heads = 5
        #expect(errorText { try config.validate() }.contains("hiddenSize 384 is not divisible by 5 heads"))
    }

    @Test("a checkpoint Vitreous writes reads back with its head count; a config.json or an argument overrides it")
    func headCountInMetadata() throws {
        try withTemporaryFolder { folder in
            let config = ViTConfig(hiddenSize: 64, depth: 2, heads: 4, mlpHiddenSize: 128, positionGrid: 4)
            for (index, layout) in [CheckpointLayout.original, .huggingFace, .transformers5].enumerated() {
                let url = folder.appendingPathComponent("model-\(index).safetensors")
                try ViTHostWeights.random(config: config, seed: 2).write(to: url, layout: layout)
                let file = try SafetensorsFile(url)
                #expect(file.metadata["num_attention_heads"] == "4")
                #expect(try ViTConfig.inferred(from: file).heads == 4, "\(layout)")
                #expect(try ViTConfig.inferred(from: file, heads: 2).heads == 2, "\(layout)")
            }
            let url = folder.appendingPathComponent("model-0.safetensors")
            try Data(#"{"num_attention_heads": 8, "hidden_size": 64}"#.utf8)
                .write(to: folder.appendingPathComponent("config.json"))
            #expect(try ViTConfig.inferred(from: SafetensorsFile(url)).heads == 8)
        }
    }
}
