import Foundation
import VitreousModel
import VitreousTensor

/// The forward pass of one checkpoint file on one device: what a comparison with another runtime on the same
/// weights and input needs (Benchmarks/peers).
struct CheckpointBenchmark {
    let device: Device
    let samples: Int
    var precision: Precision = .fp32

    func run(model: String, input: String?, output: String?) throws -> BenchmarkResult {
        let encoder = try ViTEncoder(contentsOf: URL(fileURLWithPath: model), on: device, precision: precision)
        let batch = try Self.inputBatch(input, on: device)
        let images = batch.shape[0]
        let flops = EncoderBenchmarks.forwardFLOPs(encoder.config, height: batch.shape[2], width: batch.shape[3])
            * Double(images)
        let timing = try measure(on: device, samples: samples, warmup: 3, minimumSampleSeconds: 0) {
            _ = try encoder.encode(batch).tokens
        }
        if let output {
            let tokens = try encoder.encode(batch).tokens
            try NPYArray(try tokens.toArray(), shape: tokens.shape).write(to: URL(fileURLWithPath: output))
        }
        let gflops = flops / timing.median / 1e9
        return BenchmarkResult(
            device: device.description,
            name: "encoder \((model as NSString).lastPathComponent)" + (precision == .fp32 ? "" : " \(precision)"),
            shape: String(format: "batch %d, %d×%d px, %.1f ms/image", images, batch.shape[3], batch.shape[2],
                          timing.median * 1000 / Double(images)),
            timing: timing, rate: gflops, unit: "GFLOP/s", percentOfCeiling: nil, verifyError: nil)
    }
}

extension CheckpointBenchmark {
    /// The `--input` batch (a float32 `.npy` `[B, 3, H, W]`) on `device`, or a seeded random 224 px image.
    static func inputBatch(_ input: String?, on device: Device) throws -> Tensor {
        guard let input else {
            return try Tensor(benchmarkValues(3 * 224 * 224, seed: 9), shape: [1, 3, 224, 224], on: device)
        }
        let array = try NPYArray(contentsOf: URL(fileURLWithPath: input))
        let batch = try Tensor(array.floats, shape: array.shape, on: device)
        guard batch.rank == 4 else { throw ValidationErrorText("--input must be [B, 3, H, W], got \(batch.shape)") }
        return batch
    }
}

/// A plain error with a message, for input problems found while running.
struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
