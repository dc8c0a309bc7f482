import ArgumentParser
import Foundation
import Logging
import VitreousImage
import VitreousModel
import VitreousTensor

/// The model, device and input size options of every command that runs the encoder.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("""
        Weights: a .safetensors file of a DINOv2 or DINOv3 model in Hugging Face or original key layout \
        (detected, with the family, from the keys), or a Hugging Face model folder (model.safetensors, with \
        config.json giving the heads).
        """, valueName: "file"))
    var model: String

    @Option(name: .long, help: ArgumentHelp("cpu, opencl, opencl:N or part of a device name (default: VITREOUS_DEVICE, else automatic).",
                                            valueName: "device"))
    var device: String?

    @Option(name: .long, help: ArgumentHelp("""
        Input size: N resizes the shorter side to N·256/224 and crops the centre N×N (DINOv2's evaluation \
        transform; N a multiple of 14); WxH resizes to exactly that; auto keeps the aspect and rounds both \
        sides to multiples of the patch. These resample with Pillow's 8-bit bicubic, as torchvision does on a \
        PIL image, so inputs match the PyTorch pipeline pixel for pixel. For a DINOv3 model, N and WxH \
        resize the whole image to N×N or W×H (multiples of 16) without a crop, in float with antialiased \
        bilinear: transformers' DINOv3 image processor (its default is 224).
        """, valueName: "size"))
    var size = "224"

    @Option(name: .long, help: ArgumentHelp("""
        Centre-crop rounding for --size N: torchvision (the default: DINOv2's own evaluation transform, \
        round(margin/2)) or transformers (the Hugging Face image processor, margin // 2; one pixel apart \
        on odd margins).
        """, valueName: "rounding"))
    var crop: CropRounding = .torchvision

    @Option(name: .long, help: ArgumentHelp("""
        With --size auto, refuse images that would give more than this many patch tokens (4096 = a \
        896×896 input; attention cost grows with its square).
        """, valueName: "count"))
    var maxTokens = 4096

    @Option(name: .long, help: "Attention heads, for weight files that do not say (default: hidden size / 64).")
    var heads: Int?

    @Option(name: .long, help: ArgumentHelp("""
        Number format of the linear layers and the attention's products: fp32 (the default), bf16 (CPU: \
        weights rounded once to bfloat16, activations rounded as the GEMM reads them, float32 sums; fast on \
        CPUs with AVX512-BF16), fp16 (OpenCL: weights stored as half), or auto (bf16 on a CPU with native \
        bf16, else fp32). See the Precision article for the fidelity each keeps.
        """, valueName: "precision"))
    var precision = "fp32"

    @OptionGroup var logging: LoggingOptions


    /// How images become inputs of a model of `config`: DINOv3's own transform for its N and WxH sizes.
    func resizePolicy(for config: ViTConfig) throws -> ResizePolicy {
        let policy = try resizePolicy(patch: config.patchSize)
        return config.family == .dinov3 ? policy.forDINOv3 : policy
    }

    /// How images become encoder inputs.
    func resizePolicy(patch: Int = 14) throws -> ResizePolicy {
        let text = size.lowercased()
        if text == "auto" { return .nearestMultiple(of: patch) }
        if let side = Int(text) {
            guard side >= patch, side % patch == 0 else {
                throw CLIError("--size \(size): must be a positive multiple of \(patch) (for example 224 or 518)")
            }
            return .centerCrop(size: side, rounding: crop)
        }
        let parts = text.split(separator: "x")
        if parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]) {
            guard width >= patch, height >= patch, width % patch == 0, height % patch == 0 else {
                throw CLIError("--size \(size): both sides must be positive multiples of \(patch)")
            }
            return .exact(width: width, height: height)
        }
        throw CLIError("--size \(size): use N, WxH or auto")
    }

    /// The batch-1 image run of the map commands, with the input and size options applied.
    func imageRun(_ encoder: ViTEncoder, inputs: InputOptions, batch: Int = 1, options: EncoderOptions) throws -> ImageRun {
        var run = ImageRun(encoder: encoder, policy: try resizePolicy(for: encoder.config),
                           batchSize: batch, options: options)
        run.readOptions = inputs.readOptions
        run.maxTokens = maxTokens
        return run
    }

    /// Loads the encoder onto the chosen device.
    func loadEncoder() throws -> ViTEncoder {
        setUpLogging(verbose: logging.verbose)
        let device = try chosenDevice(self.device)
        let checkpoint = try ModelLocation(model)
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(checkpoint.weights)
        } catch {
            throw CLIError("\(checkpoint.weights.path): \(error)")
        }
        let started = Date()
        let chosen = try chosenPrecision(for: device)
        let config = try ViTConfig.inferred(from: file, heads: heads ?? checkpoint.heads)
        let encoder = ViTEncoder(weights: try ViTWeights.load(file, on: device, config: config, precision: chosen))
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
        let kernel = Precision.cpuKernelName(for: chosen).map { ", \($0) kernels" } ?? ""
        Logger(label: "vitreous").debug("""
            loaded \(checkpoint.weights.path) (\(config.family), D \(config.hiddenSize), \(config.depth) blocks, \
            \(config.heads) heads, \(config.registerCount) registers\(config.family == .dinov3 ? ", " + config.ropeSummary : "")) \
            onto \(device) (\(chosen)\(kernel)) in \(seconds) s
            """)
        return encoder
    }

    /// The `--precision` for a model on `device`, with a warning where bf16 would only be emulated.
    func chosenPrecision(for device: Device) throws -> Precision {
        let chosen: Precision
        do {
            chosen = try Precision.parse(precision, for: device)
        } catch {
            throw CLIError("--precision \(precision): \(error)")
        }
        if chosen == .bf16 && !Precision.cpuHasNativeBF16 {
            Logger(label: "vitreous").warning(
                "--precision bf16: this CPU has no AVX512-BF16, so bf16 is emulated (bf16 results, no speed-up)")
        }
        return chosen
    }
}

/// The device a `--device` option names, else the one `VITREOUS_DEVICE` names (an error if it names none,
/// as for `--device`), else ``Device/default``.
func chosenDevice(_ text: String?) throws -> Device {
    guard let text else {
        if let variable = ProcessInfo.processInfo.environment["VITREOUS_DEVICE"], !variable.isEmpty {
            do {
                return try Device.parse(variable)
            } catch {
                throw CLIError("VITREOUS_DEVICE=\(variable): \(error)")
            }
        }
        return Device.default
    }
    do {
        return try Device.parse(text)
    } catch {
        throw CLIError("--device \(text): \(error)")
    }
}

/// An error for the command line: printed as one line, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private enum LoggingSetup {
    static let lock = NSLock()
    nonisolated(unsafe) static var done = false  // guarded by `lock`
}

/// Sets up logging to stderr, once per process (swift-log traps on a second bootstrap).
func setUpLogging(verbose: Bool) {
    LoggingSetup.lock.withLock {
        guard !LoggingSetup.done else { return }
        LoggingSetup.done = true
        VitreousCommand.bootstrapLogging(verbose: verbose)
    }
}

/// Creates the output folder (and its parents) if needed.
func outputFolder(_ path: String) throws -> URL {
    let url = URL(fileURLWithPath: path)
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        throw CLIError("\(path): cannot create the output folder (\(error.localizedDescription))")
    }
    InterruptCleanup.watch(url)
    return url
}

/// `folder/relative`, its parent folders created (outputs mirror the inputs' subfolders).
func outputURL(_ folder: URL, _ relative: String) throws -> URL {
    let url = folder.appendingPathComponent(relative)
    let parent = url.deletingLastPathComponent()
    if parent.standardizedFileURL.path != folder.standardizedFileURL.path {
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw CLIError("\(parent.path): cannot create the folder (\(error.localizedDescription))")
        }
    }
    return url
}

extension CropRounding: ExpressibleByArgument {}
