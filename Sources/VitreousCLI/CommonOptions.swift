import ArgumentParser
import Foundation
import VitreousImage
import VitreousModel
import VitreousTensor

/// The image or folder a command runs on.
struct InputOptions: ParsableArguments {
    @Argument(help: "A PNG image or a folder of PNG images.")
    var input: String

    /// The PNG files the input names.
    func paths() throws -> [String] { try imagePaths(input) }
}

/// The model, device and input size options of every command that runs the encoder.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Weights: a .safetensors file in Hugging Face or original DINOv2 key layout.",
                                            valueName: "file"))
    var model: String

    @Option(name: .long, help: ArgumentHelp("cpu, opencl, opencl:N or part of a device name (default: VITREOUS_DEVICE, else automatic).",
                                            valueName: "device"))
    var device: String?

    @Option(name: .long, help: ArgumentHelp("""
        Input size: N resizes the shorter side to N·256/224 and crops the centre N×N (DINOv2's evaluation \
        transform; N a multiple of 14); WxH resizes to exactly that; auto keeps the aspect and rounds both \
        sides to multiples of 14.
        """, valueName: "size"))
    var size = "224"

    @Option(name: .long, help: "Attention heads, for weight files that do not say (default: hidden size / 64).")
    var heads: Int?

    @OptionGroup var logging: LoggingOptions


    /// How images become encoder inputs.
    func resizePolicy(patch: Int = 14) throws -> ResizePolicy {
        let text = size.lowercased()
        if text == "auto" { return .nearestMultiple(of: patch) }
        if let side = Int(text) {
            guard side >= patch, side % patch == 0 else {
                throw CLIError("--size \(size): must be a positive multiple of \(patch) (for example 224 or 518)")
            }
            return .centerCrop(size: side)
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

    /// Loads the encoder onto the chosen device.
    func loadEncoder() throws -> ViTEncoder {
        setUpLogging(verbose: logging.verbose)
        let device = try chosenDevice(self.device)
        guard FileManager.default.fileExists(atPath: model) else { throw CLIError("\(model): no such file") }
        let url = URL(fileURLWithPath: model)
        let file = try SafetensorsFile(url)
        let config = try ViTConfig.inferred(from: file, heads: heads)
        return ViTEncoder(weights: try ViTHostWeights.load(file, config: config).tensors(on: device))
    }
}

/// The device a `--device` option names, or ``Device/default`` when it names none.
func chosenDevice(_ text: String?) throws -> Device {
    guard let text else { return Device.default }
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

/// The PNG files an input names: the file itself, or the `.png` files of a folder, sorted by name.
func imagePaths(_ input: String) throws -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) else {
        throw CLIError("\(input): no such file or folder")
    }
    guard isFolder.boolValue else { return [input] }
    let names = try FileManager.default.contentsOfDirectory(atPath: input)
        .filter { $0.lowercased().hasSuffix(".png") && !$0.hasPrefix(".") }.sorted()
    guard !names.isEmpty else { throw CLIError("\(input): the folder has no PNG images") }
    return names.map { (input as NSString).appendingPathComponent($0) }
}

/// Creates the output folder (and its parents) if needed.
func outputFolder(_ path: String) throws -> URL {
    let url = URL(fileURLWithPath: path)
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        throw CLIError("\(path): cannot create the output folder (\(error.localizedDescription))")
    }
    return url
}

/// The file name of an image without folder and extension, for naming its outputs.
func stem(_ path: String) -> String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
