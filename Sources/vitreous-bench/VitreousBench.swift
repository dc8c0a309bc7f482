import ArgumentParser
import Foundation
import VitreousModel
import VitreousTensor

@main
struct VitreousBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vitreous-bench",
        abstract: "Measure Vitreous's operations and DINOv2 and DINOv3 forward passes on the CPU and on every OpenCL device.",
        discussion: """
            Each operation is warmed up, then timed over several samples (median, min, max). Rates are \
            compared with ceilings measured on the same device in the same run: a large square sgemm for \
            GEMM, a device buffer copy for the memory-bound kernels.

            Examples:
              vitreous-bench                      all devices, full sizes
              vitreous-bench --quick              smaller sizes, under a minute
              vitreous-bench --device cpu --verify --filter gemm
              vitreous-bench --filter encoder --device opencl
              vitreous-bench --json > results.json
              vitreous-bench --device opencl:0 --part encoders --models vit-b --sizes 518 --batches 1,8,64
              vitreous-bench --report gpu.json cpu.json    one Markdown report of saved --json outputs
            """)

    @Option(name: .long, help: "Device to measure: all, cpu, opencl, opencl:N (repeatable).")
    var device: [String] = ["all"]

    @Option(name: .long, help: "Timed samples per operation.")
    var samples: Int = 11

    @Flag(name: .long, help: "Smaller problem sizes and fewer samples.")
    var quick = false

    @Flag(name: .long, help: "Check each operation against the float64 reference before timing it.")
    var verify = false

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: "Print a Markdown table instead of a plain one.")
    var markdown = false

    @Option(name: .long, help: ArgumentHelp("Only this part of the suite: ops, attention or encoders (repeatable).",
                                            valueName: "part"))
    var part: [String] = []

    @Option(name: .long, help: """
        Encoder rows (and --breakdown): models, comma-separated (vit-s, vit-b, vit-l, dinov3-vit-s16, dinov3-vit-b16, \
        dinov3-vit-l16); sizes the patch does not divide are skipped.
        """)
    var models: String?

    @Option(name: .long, help: "Encoder rows: input sizes in pixels, comma-separated.")
    var sizes: String?

    @Option(name: .long, help: "Encoder rows: batch sizes, comma-separated.")
    var batches: String?

    @Option(name: .long, help: ArgumentHelp("Start no new row after this many seconds; the rows done are reported.",
                                            valueName: "seconds"))
    var timeLimit: Double?

    @Option(name: .long, help: ArgumentHelp("The device's fp32 peak, for a % peak column on GFLOP/s rows.",
                                            valueName: "GFLOP/s"))
    var peakGflops: Double?

    @Option(name: .long, help: ArgumentHelp("The device's memory bandwidth, for a % peak column on GB/s rows.",
                                            valueName: "GB/s"))
    var peakGbps: Double?

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Print one Markdown report of these saved --json outputs and exit.", valueName: "file"))
    var report: [String] = []

    @Option(name: .long, help: "Only run benchmarks whose name contains this text.")
    var filter: String?

    @Flag(name: .long, help: """
        Show where the time of a 224 px forward pass goes, per operation (ViT-S/14, or each of --models), also \
        with repair's outputs.
        """)
    var breakdown = false

    @Option(name: .long, help: ArgumentHelp("""
        Time only the forward pass of this checkpoint (any key layout), on --input or a random 224 px batch:         for comparisons with other runtimes on the same weights.
        """, valueName: "file"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp("""
        Precision of the encoder rows, --breakdown and --model: fp32 (default), bf16 (CPU), fp16 (OpenCL) or auto; \
        a precision a device does not run skips that device with a note.
        """, valueName: "precision"))
    var precision = "fp32"

    @Flag(name: .long, help: """
        Compare each reduced precision (bf16 on the CPU, fp16 on OpenCL devices) with fp32 on the same weights and \
        images: token error, CLS and patch cosines, norm maps, artifact flags, defect directions and the \
        test-time-register repair, on the planted DINOv2-style model, --models (default vit-s, dinov3-vit-s16) \
        and --model with --input.
        """)
    var fidelity = false

    @Option(name: .long, help: ArgumentHelp("With --model: the input batch, a float32 .npy [B, 3, H, W] (normalised).",
                                            valueName: "file"))
    var input: String?

    @Option(name: .long, help: ArgumentHelp("With --model: write the final tokens [B, T, D] of the last device here (.npy).",
                                            valueName: "file"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("""
        Time analyze's k-NN search (k = 20, blocks of 4096 training rows) on DIR/train.npy and DIR/queries.npy \
        on the first --device; writes DIR/vitreous-neighbours.npy and prints the seconds (Benchmarks/knn.py).
        """, valueName: "dir"))
    var knn: String?

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        for word in part where BenchmarkPart(rawValue: word) == nil {
            throw ValidationError("--part '\(word)': expected one of "
                + BenchmarkPart.allCases.map(\.rawValue).joined(separator: ", "))
        }
        for (value, name) in [(timeLimit, "--time-limit"), (peakGflops, "--peak-gflops"), (peakGbps, "--peak-gbps")] {
            if let value, !(value > 0) { throw ValidationError("\(name) must be positive") }
        }
        guard !(json && markdown) else { throw ValidationError("--json and --markdown exclude each other") }
    }

    func run() throws {
        if !report.isEmpty {
            do {
                print(try MarkdownReport.fromFiles(report))
            } catch let error as BenchmarkOptionError {
                throw ValidationError(error.description)
            }
            return
        }
        var devices: [Device] = []
        for word in device {
            if word.lowercased() == "all" {
                devices += Device.all
            } else {
                do {
                    devices.append(try Device.parse(word))
                } catch {
                    throw ValidationError("\(error)")
                }
            }
        }
        if !json {
            print("vitreous-bench — \(ProcessInfo.processInfo.activeProcessorCount) host threads")
            for info in Device.openCLDevices { print("  \(info)") }
            if Device.openCLDevices.isEmpty { print("  no OpenCL device: \(Device.openCLProblem ?? "")") }
        }
        if fidelity {
            let labels = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? ["vit-s", "dinov3-vit-s16"]
            try FidelityReport(devices: devices, models: labels, checkpoint: model, input: input, json: json).run()
            return
        }
        var results: [BenchmarkResult] = []
        if breakdown {
            let labels = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? ["vit-s"]
            for label in labels {
                let config: ViTConfig, batchSizes: [Int]
                do {
                    config = try EncoderBenchmarks.config(named: label)
                    batchSizes = try batches.map { try integerList($0, option: "--batches") } ?? [1, 8]
                } catch let error as BenchmarkOptionError {
                    throw ValidationError(error.description)
                }
                for device in devices {
                    guard let chosen = try precision(on: device) else { continue }
                    for batch in batchSizes {
                        let (rows, total) = try Breakdown(device: device, config: config, size: 224, batch: batch,
                                                          samples: quick ? 3 : samples, precision: chosen).run()
                        print(Breakdown.render(rows, total: total, title: "\(device): \(label), 224 px, batch \(batch)"))
                    }
                    // The same pass with repair's outputs, to show what they add (the "+repair" encoder row).
                    let repair = Breakdown(device: device, config: config, size: 224, batch: 1,
                                           samples: quick ? 3 : samples, precision: chosen,
                                           options: EncoderBenchmarks.repairOptions(for: config))
                    let (rows, total) = try repair.run()
                    print(Breakdown.render(rows, total: total,
                                           title: "\(device): \(label), 224 px, batch 1, + token norms, CLS attention, TTR"))
                }
            }
            return
        }
        if let knn, let first = devices.first {
            let seconds = try KNNBenchmark(device: first, k: 20, block: 4096).run(folder: URL(fileURLWithPath: knn))
            print(json ? "{\"knn_seconds\": \(seconds), \"device\": \"\(first)\"}" : String(format: "k-NN: %.3f s on %@", seconds, first.description))
            return
        }
        if let model {
            for device in devices {
                guard let chosen = try precision(on: device) else { continue }
                results.append(try CheckpointBenchmark(device: device, samples: samples, precision: chosen).run(
                    model: model, input: input, output: output))
            }
            try emit(results)
            return
        }
        let selection = BenchmarkSelection(
            parts: part.isEmpty ? Set(BenchmarkPart.allCases) : Set(part.compactMap(BenchmarkPart.init(rawValue:))),
            filter: filter, timeLimit: timeLimit)
        let encoderModels: [String]
        let encoderSizes: [Int], encoderBatches: [Int]
        do {
            encoderModels = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? (quick ? ["vit-s"] : ["vit-s", "vit-b"])
            encoderSizes = try sizes.map { try integerList($0, option: "--sizes") } ?? (quick ? [224] : [224, 518])
            encoderBatches = try batches.map { try integerList($0, option: "--batches") } ?? (quick ? [1] : [1, 8])
        } catch let error as BenchmarkOptionError {
            throw ValidationError(error.description)
        }
        for device in devices {
            let suite = OpBenchmarks(device: device, samples: quick ? Swift.min(samples, 5) : samples, quick: quick,
                                     verify: verify, selection: selection)
            let progress = { (step: String) in
                if !json { FileHandle.standardError.write(Data("  [\(device)] \(step)…\n".utf8)) }
            }
            let ops = try suite.run(progress: progress)
            results += ops
            let ceiling = ops.first { $0.name.hasPrefix("gemm ceiling") }?.rate
            do {
                guard let chosen = try precision(on: device) else { continue }
                results += try EncoderBenchmarks(device: device, samples: suite.samples, quick: quick, verify: verify,
                                                 selection: selection, gemmCeiling: ceiling, models: encoderModels,
                                                 sizes: encoderSizes, batches: encoderBatches,
                                                 precision: chosen).run(progress: progress)
            } catch let error as BenchmarkOptionError {
                throw ValidationError(error.description)
            }
        }
        if !selection.skipped.isEmpty {
            FileHandle.standardError.write(Data(("vitreous-bench: time limit reached; not run: "
                + selection.skipped.joined(separator: ", ") + "\n").utf8))
        }
        try emit(results.map(withPeakShare))
    }

    /// The `--precision` on `device`, or nil (with a note) when the device does not run it.
    private func precision(on device: Device) throws -> Precision? {
        do {
            return try Precision.parse(precision, for: device)
        } catch VitreousError.invalidArgument(let message) where precision.lowercased() != "auto"
                    && Precision(rawValue: precision.lowercased()) != nil {
            FileHandle.standardError.write(Data("vitreous-bench: skipping \(device): \(message)\n".utf8))
            return nil
        } catch {
            throw ValidationError("--precision \(precision): \(error)")
        }
    }

    /// `result` with its share of the datasheet peak given on the command line, if any.
    private func withPeakShare(_ result: BenchmarkResult) -> BenchmarkResult {
        var result = result
        let peak = result.unit == "GFLOP/s" ? peakGflops : result.unit == "GB/s" ? peakGbps : nil
        result.percentOfPeak = peak.map { 100 * result.rate / $0 }
        return result
    }

    private func emit(_ results: [BenchmarkResult]) throws {
        defer { if !json { print(memorySummary()) } }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else if markdown {
            print(MarkdownReport.table(results))
        } else {
            print(Table.render(results))
        }
    }

    /// Peak memory: the process's resident set, and each backend's largest pooled working set.
    private func memorySummary() -> String {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        var parts = [String(format: "peak resident memory %.0f MiB", Double(usage.ru_maxrss) / 1024)]
        for device in Device.all {
            guard let statistics = try? backend(for: device).allocationStatistics else { continue }
            parts.append(String(format: "%@ peak live buffers %.0f MiB", device.description,
                                Double(statistics.peakLiveBytes) / 1_048_576))
        }
        return parts.joined(separator: "; ")
    }
}
