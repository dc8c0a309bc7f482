import Foundation
import VitreousModel
import VitreousTensor

/// End-to-end DINOv2 forward passes (seeded random weights of the real sizes) and the fused attention
/// against the materialised one.
struct EncoderBenchmarks {
    let device: Device
    let samples: Int
    let quick: Bool
    let filter: String?
    /// GFLOP/s of the square sgemm measured on this device in this run, for the "% ceiling" column.
    let gemmCeiling: Double?

    func wanted(_ name: String) -> Bool {
        guard let filter, !filter.isEmpty else { return true }
        return name.localizedCaseInsensitiveContains(filter)
    }

    func run(progress: (String) -> Void) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        for tokens in quick ? [257] : [257, 1370] {
            let name = "attention T=\(tokens)"
            guard wanted(name) || wanted("attention") else { continue }
            progress(name)
            let timing = try benchmarkAttention(device: device, tokens: tokens, heads: 6, headDim: 64,
                                                runs: samples)
            for (kind, ms, gflops) in [("fused", timing.fusedMilliseconds, timing.fusedGFLOPS),
                                       ("materialised", timing.materializedMilliseconds, timing.materializedGFLOPS)] {
                let seconds = ms / 1000
                results.append(BenchmarkResult(
                    device: device.description, name: "\(name) \(kind)", shape: "6 heads × 64, batch 1",
                    timing: TimingSummary(median: seconds, min: seconds, max: seconds, operationsPerSample: 1,
                                          samples: samples),
                    rate: gflops, unit: "GFLOP/s", percentOfCeiling: gemmCeiling.map { 100 * gflops / $0 },
                    verifyError: nil))
            }
        }
        let models: [(String, ViTConfig)] = quick ? [("vit-s", .small)] : [("vit-s", .small), ("vit-b", .base)]
        let sizes = quick ? [224] : [224, 518]
        let batches = quick ? [1] : [1, 8]
        for (label, config) in models {
            let name = "encoder \(label)"
            guard wanted(name) || wanted("encoder") else { continue }
            let encoder = ViTEncoder(weights: try ViTHostWeights.random(config: config, seed: 1).tensors(on: device))
            for size in sizes {
                for batch in batches {
                    progress("\(name) \(size) px batch \(batch)")
                    let images = try Tensor(benchmarkValues(batch * 3 * size * size, seed: 9),
                                            shape: [batch, 3, size, size], on: device)
                    let flops = Self.forwardFLOPs(config, height: size, width: size) * Double(batch)
                    // Big passes take seconds (minutes on a CPU OpenCL driver): fewer samples, one warm-up.
                    let count = flops > 2e11 ? min(samples, 3) : samples
                    let timing = try measure(on: device, samples: count, warmup: 1, minimumSampleSeconds: 0) {
                        _ = try encoder.encode(images).tokens
                    }
                    let gflops = flops / timing.median / 1e9
                    let created = try buffersCreated(on: device)
                    _ = try encoder.encode(images).tokens.toArray()
                    let newBuffers = try buffersCreated(on: device) - created
                    results.append(BenchmarkResult(
                        device: device.description, name: "\(name) \(size)px b\(batch)",
                        shape: String(format: "%.1f ms/image, %.2f images/s", timing.median * 1000 / Double(batch),
                                      Double(batch) / timing.median),
                        timing: timing, rate: gflops, unit: "GFLOP/s",
                        percentOfCeiling: gemmCeiling.map { 100 * gflops / $0 }, verifyError: nil,
                        newBuffersPerRun: newBuffers))
                    if batch == 1 && size == 224 {
                        results.append(try withRepairSteps(encoder, images: images, name: "\(name) \(size)px b1",
                                                           flops: flops, samples: count))
                    }
                }
            }
        }
        return results
    }

    /// The same pass with what repair needs from it: every layer's token norms, the CLS attention, and one
    /// test-time register fed by ten neurons of the middle block.
    func withRepairSteps(_ encoder: ViTEncoder, images: Tensor, name: String, flops: Double,
                         samples: Int) throws -> BenchmarkResult {
        let registers = TestTimeRegisters(neurons: [encoder.config.depth / 2: Array(0..<10)])
        let options = EncoderOptions(tokenNorms: true, clsAttention: true, testTimeRegisters: registers)
        let timing = try measure(on: device, samples: samples, warmup: 1, minimumSampleSeconds: 0) {
            _ = try encoder.encode(images, options: options).tokens
        }
        let gflops = flops / timing.median / 1e9
        return BenchmarkResult(device: device.description, name: name + " +repair",
                               shape: String(format: "%.1f ms/image, norms + CLS attention + TTR", timing.median * 1000),
                               timing: timing, rate: gflops, unit: "GFLOP/s",
                               percentOfCeiling: gemmCeiling.map { 100 * gflops / $0 }, verifyError: nil)
    }

    /// Multiply-adds ×2 of one image's forward pass: patch embedding, the four projections and attention
    /// of every block (the element-wise work is not counted).
    static func forwardFLOPs(_ config: ViTConfig, height: Int, width: Int) -> Double {
        let (gh, gw) = (height / config.patchSize, width / config.patchSize)
        let tokens = Double(config.tokenCount(gridHeight: gh, gridWidth: gw))
        let d = Double(config.hiddenSize), h = Double(config.mlpInputRows), hOut = Double(config.mlpHiddenSize)
        let patchPixels = Double(config.channels * config.patchSize * config.patchSize)
        let embed = 2 * Double(gh * gw) * patchPixels * d
        let block = 2 * tokens * d * (3 * d) + 2 * tokens * d * d + 2 * tokens * d * h + 2 * tokens * hOut * d
            + 4 * tokens * tokens * d
        return embed + Double(config.depth) * block
    }
}
