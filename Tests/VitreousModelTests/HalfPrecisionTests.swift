import Foundation
import Testing
@testable import VitreousModel
import VitreousTensor
import VitreousTesting

/// `--precision fp16` on OpenCL: the encoder with its linear weights stored as half (`linearWeight`).
///
/// Bounds:
/// - 1e-4 relative L2 against the float64 reference encoder run on the same half-rounded weights (read back from
///   the fp16 encoder): all that is left is float32 arithmetic, as in the fp32 encoder's tests (measured ≤ 4.5e-7
///   on PoCL, CPU and GPU layouts, eight seeds).
/// - Against the fp32 encoder on the float32 weights, CLS cosine ≥ 1 − 1e-5 and tokens within 2e-3 relative L2:
///   on these random ViT-S-wide weights the half rounding (at most 2⁻¹¹ per weight, ≈ 2.8e-4 per linear layer as
///   relative L2) measured 1 − cosine between 5.2e-8 and 7.4e-8 and a token error of 2.24e-4 to 2.27e-4 over
///   eight seeds; the bounds leave a margin of ~100× and ~9× for other seeds and devices.
@Suite("fp16 encoder on OpenCL", .serialized)
struct HalfPrecisionTests {
    static var devices: [Device] { encoderTestDevices.filter { $0 != .cpu } }

    @Test("an fp16 encoder loaded from a checkpoint against the fp32 one on the same seeded weights")
    func againstFloat32() throws {
        #expect(!(Self.devices.isEmpty && ProcessInfo.processInfo.environment["CI"] == "true"),
                "CI needs an OpenCL device")
        let seed = UInt64.random(in: 0...UInt64.max)
        // ViT-S's width, heads and MLP at a depth of 3, one 112 × 112 image (65 tokens).
        let config = ViTConfig(hiddenSize: 384, depth: 3, heads: 6, mlpHiddenSize: 1536, positionGrid: 8)
        let host = try ViTHostWeights.random(config: config, seed: seed,
                                             scales: RandomWeightScales(biasStd: 0.05, layerScale: 0.5, normJitter: 0.1))
        var generator = SplitMix64(seed: seed)
        let pixels = generator.normal(3 * 112 * 112)
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("model.safetensors")
            try host.write(to: url, layout: .original)
            for device in Self.devices {
                let half = try ViTEncoder(contentsOf: url, on: device, config: config, precision: .fp16)
                let float = try ViTEncoder(contentsOf: url, on: device, config: config)
                #expect(half.precision == .fp16 && float.precision == .fp32)
                #expect(half.weights.blocks[0].fc1Weight.precision == .fp16)
                let images = try Tensor(pixels, shape: [1, 3, 112, 112], on: device)
                let (a, b) = (try half.encode(images), try float.encode(images))
                let (clsA, clsB) = (try a.cls.toArray(), try b.cls.toArray())
                let dot = zip(clsA, clsB).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let norms = (clsA.reduce(0.0) { $0 + Double($1 * $1) } * clsB.reduce(0.0) { $0 + Double($1 * $1) })
                    .squareRoot()
                let cosine = dot / norms
                let tokenError = Reference.relativeError(try a.tokens.toArray(), try b.tokens.toArray().map(Double.init))
                #expect(cosine >= 1 - 1e-5, "\(device) seed \(seed): CLS cosine \(cosine)")
                #expect(tokenError <= 2e-3, "\(device) seed \(seed): tokens differ by \(tokenError)")
                #expect(tokenError > 0, "\(device) seed \(seed): the fp16 encoder gave the fp32 result")
            }
        }
    }

    @Test("an fp16 encoder matches the float64 reference on its half-rounded weights (GELU and SwiGLU)")
    func againstReference() throws {
        let configs = [
            ViTConfig(hiddenSize: 96, depth: 2, heads: 3, mlpHiddenSize: 128, registerCount: 4, positionGrid: 4),
            ViTConfig(hiddenSize: 64, depth: 2, heads: 1, mlpHiddenSize: 80, mlp: .swiglu, positionGrid: 3),
        ]
        for device in Self.devices {
            guard case .openCL(let ordinal) = device else { continue }
            let usesHalfMath = Device.openCLDevices.first { $0.index == ordinal }?.supportsFP16 == true
                && ProcessInfo.processInfo.environment["VITREOUS_OPENCL_HALF_MATH"] != "0"
            for (index, config) in configs.enumerated() {
                let seed = UInt64.random(in: 0...UInt64.max)
                let host = try ViTHostWeights.random(config: config, seed: seed,
                                                     scales: RandomWeightScales(biasStd: 0.05, layerScale: 0.5,
                                                                                normJitter: 0.1))
                var generator = SplitMix64(seed: seed)
                let (batch, height, width) = (2, 70, 42)
                let pixels = generator.normal(batch * 3 * height * width)
                let encoder = try ViTEncoder(weights: try host.tensors(on: device), precision: .fp16)
                let out = try encoder.encode(try Tensor(pixels, shape: [batch, 3, height, width], on: device))
                // The fp16 encoder's weights read back as the half values its kernel multiplies by.
                let reference = try ReferenceEncoder.forward(try encoder.weights.host().doubles(),
                                                             images: pixels.map(Double.init),
                                                             batch: batch, height: height, width: width)
                let error = Reference.relativeError(try out.tokens.toArray(), reference.tokens)
                // A device that sums in half (cl_khr_fp16) rounds activations too: the fp32-weights bound applies.
                #expect(error <= (usesHalfMath ? 5e-3 : 1e-4),
                        "\(device) config \(index) seed \(seed): tokens error \(error)")
            }
        }
    }
}
