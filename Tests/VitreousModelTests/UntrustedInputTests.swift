import Foundation
import Testing
@testable import VitreousModel

/// Checkpoints built to break the loader, from reviewing it for the fuzz harnesses (Fuzz/): each must give a
/// clear error, never a trap or an allocation sized by a number in the file.
@Suite("untrusted checkpoints")
struct UntrustedInputTests {
    @Test("a block numbered Int.max is an error, not an overflow of the depth")
    func blockNumberAtIntMax() throws {
        try withTemporaryFolder { folder in
            let url = try editedCheckpoint("tiny/weights_orig.safetensors", in: folder,
                                           extra: [("blocks.9223372036854775807.norm1.weight", [0], [1])])
            let text = errorText { _ = try ViTConfig.inferred(from: SafetensorsFile(url), heads: 2) }
            #expect(text == "\(url.path): transformer blocks are not numbered 0…3: there is no block 3 "
                + "('blocks.3.…') but there is a block 9223372036854775807", "\(text)")
        }
    }

    @Test("a stray high block number does not ask for that many blocks")
    func blockNumberGap() throws {
        try withTemporaryFolder { folder in
            let url = try editedCheckpoint("tiny/weights_orig.safetensors", in: folder,
                                           extra: [("blocks.100000000.mlp.fc1.weight", [0], [1])])
            let text = errorText { _ = try ViTHostWeights.load(url, heads: 2) }
            #expect(text.contains("transformer blocks are not numbered 0…3: there is no block 3"), "\(text)")
        }
    }

    @Test("sizes beyond any ViT are refused before anything is sized by them")
    func sizeLimits() throws {
        var config = ViTConfig.small
        config.depth = 1 << 30
        #expect(errorText { try config.validate() } == "invalid ViT configuration: depth is 1073741824, above the limit of 4096")
        config = .small
        config.hiddenSize = 1 << 62
        config.heads = 1
        #expect(errorText { try config.validate() }.contains("hiddenSize is 4611686018427387904, above the limit"))
        config = .giant
        config.registerCount = Int.max
        #expect(errorText { try config.validate() }.contains("registerCount is \(Int.max), above the limit"))
        for size in [ViTConfig.small, .base, .large, .giant, .giant.withRegisters()] { try size.validate() }
    }

    @Test("bytes in memory read as the same file does, errors included")
    func inMemory() throws {
        let url = Fixtures.url("tiny/weights_orig.safetensors")
        let mapped = try SafetensorsFile(url)
        let copied = try SafetensorsFile(bytes: try Data(contentsOf: url), url: url)
        #expect(copied.names == mapped.names)
        #expect(copied.metadata == mapped.metadata)
        for name in mapped.names { #expect(try copied.floats(name) == mapped.floats(name), "\(name)") }
        expectIdentical(try ViTHostWeights.load(copied, heads: 2), try ViTHostWeights.load(mapped, heads: 2),
                        "loaded from memory")

        let name = URL(fileURLWithPath: "/in/memory.safetensors")
        let empty = errorText { _ = try SafetensorsFile(bytes: Data(), url: name) }
        #expect(empty == "/in/memory.safetensors: not a valid safetensors file: the file is 0 bytes long, shorter "
            + "than the 8-byte header length field")
        for (label, bytes, message) in SafetensorsTests.malformed {
            let text = errorText { _ = try SafetensorsFile(bytes: bytes, url: name) }
            #expect(text.hasPrefix("/in/memory.safetensors: not a valid safetensors file: ") && text.contains(message),
                    "\(label): \(text)")
        }
    }
}
