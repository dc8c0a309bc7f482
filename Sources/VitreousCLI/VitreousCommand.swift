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
            files in Hugging Face or original DINOv2 key layout; images are PNG files or folders of them.

            Start with `vitreous demo`: it needs no files and shows what every subcommand produces.

            Examples:
              vitreous devices
              vitreous demo --out demo
              vitreous encode photos/ --model dinov2-small.safetensors --out features --batch 8
              vitreous attention cat.png --model dinov2-small.safetensors --out maps
              vitreous norms cat.png --model dinov2-large.safetensors --size 518 --out norms
              vitreous pca photos/ --model dinov2-small.safetensors --foreground --out pca
              vitreous repair photos/ --model dinov2-large.safetensors --method ttr --find-neurons photos/
            """,
        subcommands: [Devices.self, Encode.self, AttentionMaps.self, NormMaps.self, PCAMaps.self, Repair.self,
                      Demo.self])

    public init() {}

    /// Logging is set up once per process (bootstrapping twice traps), before any subcommand runs.
    static func bootstrapLogging(verbose: Bool) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .notice
            return handler
        }
    }
}

/// Options every command that logs shares.
struct LoggingOptions: ParsableArguments {
    @Flag(name: .long, help: "Print debug messages (device choice, kernel builds, timings).")
    var verbose = false
}
