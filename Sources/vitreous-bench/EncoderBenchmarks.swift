import Foundation
import VitreousModel
import VitreousTensor
import VitreousTesting

/// End-to-end DINOv2 and DINOv3 forward passes (seeded random weights of the real sizes) and the fused attention
/// against the materialised one.
struct EncoderBenchmarks {
    let device: Device
    let samples: Int
    let quick: Bool
    let verify: Bool
    let selection: BenchmarkSelection
    /// GFLOP/s of the square sgemm measured on this device in this run, for the "% ceiling" column.
    let gemmCeiling: Double?
    /// `vit-s`, `vit-b`, ... (``modelConfigs``), input sizes in pixels and batch sizes of the encoder rows.
    let models: [String]
    let sizes: [Int]
    let batches: [Int]
    /// The precision of the encoder rows (named in each row unless fp32).
    var precision: Precision = .fp32

    /// The encoder sizes `--models` accepts.
    static let modelConfigs: [(String, ViTConfig)] = [
        ("vit-s", .small), ("vit-b", .base), ("vit-l", .large),
        ("dinov3-vit-s16", .dinov3Small), ("dinov3-vit-b16", .dinov3Base), ("dinov3-vit-l16", .dinov3Large),
    ]

    /// The configuration of a `--models` name.
    static func config(named label: String) throws -> ViTConfig {
        guard let config = modelConfigs.first(where: { $0.0 == label })?.1 else {
            throw BenchmarkOptionError("--models: no encoder '\(label)' (known: "
                + modelConfigs.map(\.0).joined(separator: ", ") + ")")
        }
        return config
    }

    func run(progress: (String) -> Void) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        for tokens in quick ? [257] : [257, 1370] {
            let name = "attention T=\(tokens)"
            guard selection.wanted(name, part: .attention) else { continue }
            progress(name)
            let timing = try benchmarkAttention(device: device, tokens: tokens, heads: 6, headDim: 64,
                                                runs: samples)
            let error = verify ? try attentionError(tokens: tokens, heads: 6, headDim: 64) : nil
            for (kind, ms, gflops) in [("fused", timing.fusedMilliseconds, timing.fusedGFLOPS),
                                       ("materialised", timing.materializedMilliseconds, timing.materializedGFLOPS)] {
                let seconds = ms / 1000
                results.append(BenchmarkResult(
                    device: device.description, name: "\(name) \(kind)", shape: "6 heads × 64, batch 1",
                    timing: TimingSummary(median: seconds, min: seconds, max: seconds, operationsPerSample: 1,
                                          samples: samples),
                    rate: gflops, unit: "GFLOP/s", percentOfCeiling: gemmCeiling.map { 100 * gflops / $0 },
                    verifyError: kind == "fused" ? error : nil))
            }
        }
        for label in models {
            let config = try Self.config(named: label)
            let name = "encoder \(label)" + (precision == .fp32 ? "" : " \(precision)")
            // Sizes this model's patch divides (518 is for patch 14, not DINOv3's 16).
            let sizes = self.sizes.filter { $0 % config.patchSize == 0 }
            // Build the weights only when one of this model's rows passes --filter.
            let rows = sizes.flatMap { size in batches.map { "\(name) \(size)px b\($0)" } }
            guard selection.parts.contains(.encoders), rows.contains(where: selection.matches) else { continue }
            let hostWeights = try ViTHostWeights.random(config: config, seed: 1)
            let encoder = ViTEncoder(weights: try hostWeights.tensors(on: device, precision: precision))
            for size in sizes {
                for batch in batches {
                    let row = "\(name) \(size)px b\(batch)"
                    guard selection.wanted(row, part: .encoders) else { continue }
                    progress("\(name) \(size) px batch \(batch)")
                    let imageValues = benchmarkValues(batch * 3 * size * size, seed: 9)
                    let images = try Tensor(imageValues, shape: [batch, 3, size, size], on: device)
                    let flops = Self.forwardFLOPs(config, height: size, width: size) * Double(batch)
                    // Big passes take seconds (minutes on a CPU OpenCL driver): fewer samples, one warm-up.
                    let count = flops > 2e11 ? min(samples, 3) : samples
                    let timing = try measure(on: device, samples: count, warmup: 1, minimumSampleSeconds: 0) {
                        _ = try encoder.encode(images).tokens
                    }
                    let gflops = flops / timing.median / 1e9
                    let created = try buffersCreated(on: device)
                    let tokens = try encoder.encode(images).tokens.toArray()
                    let newBuffers = try buffersCreated(on: device) - created
                    // Against the CPU backend on the same weights, once per model and size (batch 1 when run).
                    var error: Double?
                    if verify && device != .cpu && batch == batches.min() {
                        let reference = ViTEncoder(weights: try hostWeights.tensors(on: .cpu))
                        let cpuTokens = try reference.encode(try Tensor(imageValues, shape: [batch, 3, size, size],
                                                                        on: .cpu)).tokens.toArray()
                        error = Reference.relativeError(tokens, cpuTokens.map(Double.init))
                    }
                    results.append(BenchmarkResult(
                        device: device.description, name: row,
                        shape: String(format: "%.1f ms/image, %.2f images/s", timing.median * 1000 / Double(batch),
                                      Double(batch) / timing.median),
                        timing: timing, rate: gflops, unit: "GFLOP/s",
                        percentOfCeiling: gemmCeiling.map { 100 * gflops / $0 }, verifyError: error,
                        newBuffersPerRun: newBuffers))
                    if batch == 1 && size == 224 && selection.wanted(row + " +repair", part: .encoders) {
                        results.append(try withRepairSteps(encoder, images: images, name: row,
                                                           flops: flops, samples: max(count, 11)))
                    }
                }
            }
        }
        return results
    }

    /// Relative error of the fused attention on random `[1, tokens, heads·headDim]` inputs against the float64
    /// reference, on 32 query rows spread over the sequence (all keys).
    func attentionError(tokens: Int, heads: Int, headDim: Int) throws -> Double {
        let width = heads * headDim
        let values = (0..<3).map { benchmarkValues(tokens * width, seed: 20 + UInt64($0)) }
        let (q, k, v) = (try Tensor(values[0], shape: [1, tokens, width], on: device),
                         try Tensor(values[1], shape: [1, tokens, width], on: device),
                         try Tensor(values[2], shape: [1, tokens, width], on: device))
        let output = try attention(q: q, k: k, v: v, heads: heads).output.toArray()
        let rows = (0..<32).map { $0 * (tokens - 1) / 31 }
        let reference = Reference.attention(q: values[0].map(Double.init), k: values[1].map(Double.init),
                                            v: values[2].map(Double.init), batch: 1, tokens: tokens, heads: heads,
                                            headDim: headDim, scale: 1 / Double(headDim).squareRoot(),
                                            queryRows: rows).output
        let sampled = rows.flatMap { row in output[(row * width)..<((row + 1) * width)] }
        return Reference.relativeError(Array(sampled), reference)
    }

    /// What repair asks of a pass: every layer's token norms, the last block's CLS attention, and one test-time
    /// register fed by ten neurons of the middle block.
    static func repairOptions(for config: ViTConfig) -> EncoderOptions {
        EncoderOptions(tokenNorms: true, clsAttention: true,
                       testTimeRegisters: TestTimeRegisters(neurons: [config.depth / 2: Array(0..<10)]))
    }

    /// The same pass with what repair needs from it (``repairOptions(for:)``), timed interleaved with the plain
    /// pass, sample by sample, so that machine load drifting during the row hits both alike. The shape column
    /// gives the overhead twice: in wall time and in the process's CPU time (all threads, user + system), which
    /// a loaded machine disturbs far less.
    func withRepairSteps(_ encoder: ViTEncoder, images: Tensor, name: String, flops: Double,
                         samples: Int) throws -> BenchmarkResult {
        let options = Self.repairOptions(for: encoder.config)
        let passes: [() throws -> Void] = [
            { _ = try encoder.encode(images).tokens }, { _ = try encoder.encode(images, options: options).tokens },
        ]
        var wall: [[Double]] = [[], []], cpu: [[Double]] = [[], []]
        for pass in passes { try pass() }  // warm-up: kernels, buffer pool
        for _ in 0..<samples {
            for (index, pass) in passes.enumerated() {
                let (startWall, startCPU) = (DispatchTime.now().uptimeNanoseconds, processCPUSeconds())
                try pass()
                try device.synchronize()
                wall[index].append(Double(DispatchTime.now().uptimeNanoseconds - startWall) / 1e9)
                cpu[index].append(processCPUSeconds() - startCPU)
            }
        }
        let (plain, repair) = (median(wall[0]), median(wall[1]))
        let (plainCPU, repairCPU) = (median(cpu[0]), median(cpu[1]))
        let timing = TimingSummary(median: repair, min: wall[1].min() ?? repair, max: wall[1].max() ?? repair,
                                   operationsPerSample: 1, samples: samples)
        let shape = String(format: "%.1f ms/image, norms + CLS attention + TTR: %+.1f %% wall, %+.1f %% CPU time "
                           + "vs plain (%.1f ms) interleaved", repair * 1000, 100 * (repair / plain - 1),
                           100 * (repairCPU / plainCPU - 1), plain * 1000)
        let gflops = flops / repair / 1e9
        return BenchmarkResult(device: device.description, name: name + " +repair", shape: shape,
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
