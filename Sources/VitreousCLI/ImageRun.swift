import Foundation
import Logging
import VitreousImage
import VitreousModel
import VitreousTensor

/// One image as the encoder saw it.
struct PreparedImage {
    let path: String
    /// The name its outputs take (see ``InputImage``).
    let name: String
    /// After resizing and cropping, before normalisation: what heatmaps are drawn over.
    let image: Image
}

/// Runs the encoder over many images: decodes each, resizes it, groups images of one size into batches,
/// encodes them, and hands each batch to `handle`. A file that fails is recorded and skipped; the
/// others still run.
struct ImageRun {
    let encoder: ViTEncoder
    let policy: ResizePolicy
    let batchSize: Int
    let options: EncoderOptions
    var readOptions = ImageReadOptions()
    /// Images whose input would have more patch tokens are refused (`--max-tokens`, for `--size auto`).
    var maxTokens = Int.max
    var showProgress = true

    struct Failure {
        let path: String
        let message: String

        /// Names the file once: image errors already start with its path, encoder errors do not.
        init(path: String, error: Error) {
            self.path = path
            let text = "\(error)"
            message = text.hasPrefix(path) ? text : "\(path): \(text)"
        }

        /// A failure recorded earlier (a checkpoint's).
        init(path: String, message: String) {
            self.path = path
            self.message = message
        }
    }

    struct Summary {
        let processed: Int
        let failures: [Failure]
        let seconds: Double
        /// Images left out because their outputs existed (`--skip-existing`).
        var skippedExisting = 0
        /// Files in the input folders that are not images.
        var notImages: [String] = []
        /// Where `between` stopped the run: the inputs before it were handled or failed, none after.
        var stoppedAt: Int?
    }

    /// One image decoded and brought to the encoder's input size (not yet normalised).
    func prepare(_ input: InputImage) throws -> Image {
        let decoded = try ImageFile.read(input.path, options: readOptions)
        try checkTokenLimit(input.path, decoded, policy: policy, patch: encoder.config.patchSize, maxTokens: maxTokens)
        return try policy.prepare(decoded)
    }

    /// Runs every input through `handle`. `between` is called with the number of inputs done and the
    /// failures so far whenever no image waits for a batch (so a run resumed there forms the same batches);
    /// returning true stops the run.
    func run(_ inputs: [InputImage], label: String = "images", between: ((Int, [Failure]) -> Bool)? = nil,
             handle: ([PreparedImage], EncoderOutput) throws -> Void) -> Summary {
        let start = Date()
        let progress = ProgressBar(total: inputs.count, label: label, enabled: showProgress)
        var failures: [Failure] = []
        var pending: [PreparedImage] = []
        var processed = 0

        func flush() {
            guard !pending.isEmpty else { return }
            let batch = pending
            pending = []
            do {
                let tensor = try Preprocessor(resize: .exact(width: batch[0].image.width, height: batch[0].image.height))
                    .tensor(batch.map(\.image), on: encoder.device)
                let started = Date()
                try handle(batch, try encoder.encode(tensor, options: options))
                let milliseconds = String(format: "%.1f", Date().timeIntervalSince(started) * 1000)
                Logger(label: "vitreous").debug(
                    "\(batch.count) image(s) of \(batch[0].image.width)×\(batch[0].image.height) encoded and written in \(milliseconds) ms")
                processed += batch.count
            } catch {
                failures += batch.map { Failure(path: $0.path, error: error) }
            }
            progress.advance(by: batch.count)
        }

        var stoppedAt: Int?
        for (index, input) in inputs.enumerated() {
            if pending.isEmpty, let between, between(index, failures) {
                stoppedAt = index
                break
            }
            do {
                let image = try prepare(input)
                if let first = pending.first, first.image.width != image.width || first.image.height != image.height {
                    flush()
                }
                pending.append(PreparedImage(path: input.path, name: input.name, image: image))
                if pending.count >= batchSize { flush() }
            } catch {
                failures.append(Failure(path: input.path, error: error))
                progress.advance()
            }
        }
        flush()
        var summary = Summary(processed: processed, failures: failures, seconds: Date().timeIntervalSince(start))
        summary.stoppedAt = stoppedAt
        return summary
    }
}

extension ImageRun.Summary {
    /// Ends a command: the closing `text` (or with `json` one JSON object holding `fields`, the counts and
    /// the failed inputs with their errors) on stdout, the failures one line each on stderr, and an error
    /// when any image failed so the exit code is 1.
    func finish(json: Bool, text: String, fields: [String: Any] = [:]) throws {
        if json {
            var object = fields
            object["images"] = processed
            object["failed"] = failures.map { ["path": $0.path, "error": $0.message] }
            object["skipped_existing"] = skippedExisting
            object["not_images"] = notImages
            object["seconds"] = (seconds * 1000).rounded() / 1000
            try printJSON(object)
        } else {
            print(text)
            var notes: [String] = []
            if skippedExisting > 0 { notes.append("skipped \(skippedExisting) images whose outputs exist") }
            if let first = notImages.first {
                notes.append("skipped \(notImages.count) file\(notImages.count == 1 ? "" : "s") that "
                    + "\(notImages.count == 1 ? "is" : "are") not PNG, JPEG or WebP (first: \(first))")
            }
            if !notes.isEmpty { print(notes.joined(separator: "; ")) }
        }
        // One line per failure on stderr in both modes: the JSON object on stdout stays machine-readable.
        for failure in failures {
            FileHandle.standardError.write(Data("error: \(failure.message)\n".utf8))
        }
        if !failures.isEmpty {
            throw CLIError("\(failures.count) of \(processed + failures.count) images failed (listed above)")
        }
    }
}

/// Prints `object` as one line of JSON with sorted keys on stdout: the `--json` output of every command.
func printJSON(_ object: [String: Any]) throws {
    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
}

/// Refuses an image that `policy` would make into more than `maxTokens` patch tokens (`--max-tokens`), before
/// it is resized: `--size auto` on a huge image would otherwise run for minutes.
func checkTokenLimit(_ path: String, _ decoded: RGB8Image, policy: ResizePolicy, patch: Int, maxTokens: Int) throws {
    let size = policy.outputSize(width: decoded.width, height: decoded.height)
    let tokens = (size.width / patch) * (size.height / patch)
    guard tokens <= maxTokens else {
        throw CLIError("\(path): \(decoded.width)×\(decoded.height) becomes \(size.width)×\(size.height), "
            + "\(tokens) patch tokens, above --max-tokens \(maxTokens)")
    }
}
