import ArgumentParser
import Foundation
import Logging

/// The `vitreous` command line: the root command and its subcommands. The executable only runs it; it lives
/// in a library so that tests and the fuzz harness can parse argument lines without a process.
public struct VitreousCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vitreous",
        abstract: "Run DINOv2-family Vision Transformers and inspect and repair their artifact tokens.",
        discussion: """
            Vitreous runs on any OpenCL device (GPUs of every vendor) or on the CPU. Models are safetensors \
            files in Hugging Face or original DINOv2 key layout, or Hugging Face model folders; images are \
            PNG, JPEG or WebP files (told by content) or folders of them, searched recursively.

            Layers are numbered one way everywhere (--layers, --detect-layer, --top-layer, file names): \
            0 is the patch embedding's output, L (1…depth) the output of the L-th block.

            Start with `vitreous demo`: it needs no files and shows what every subcommand produces.

            Examples:
              vitreous devices
              vitreous demo --out demo
              vitreous encode photos/ more/*.jpg --model dinov2-small/ --out features --batch 8
              vitreous attention cat.png --model dinov2-small.safetensors --out maps
              vitreous norms cat.png --model dinov2-large.safetensors --size 518 --out norms
              vitreous pca photos/ --model dinov2-small.safetensors --foreground --out pca
              vitreous analyze classes/ --model dinov2-small.safetensors --out analysis
              vitreous repair photos/ --model dinov2-large.safetensors --method ttr --find-neurons photos/
            """,
        version: VitreousCommand.version,
        subcommands: [Devices.self, Encode.self, IndexCommand.self, AttentionMaps.self, NormMaps.self, PCAMaps.self,
                      Analyze.self, Repair.self, Demo.self])

    /// The release, as `VITREOUS_VERSION_STRING` in include/vitreous.h.
    public static let version = "0.1.0"

    public init() {}

    /// Logging is set up once per process (bootstrapping twice traps), before any subcommand runs.
    static func bootstrapLogging(verbose: Bool) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            // Notices (which backend was chosen and why) are debug information: they appear with --verbose.
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
    }
}

/// Options every command that logs shares.
struct LoggingOptions: ParsableArguments {
    @Flag(name: .long, help: "Print debug messages on stderr (device choice and why, kernel builds, timings).")
    var verbose = false
}
