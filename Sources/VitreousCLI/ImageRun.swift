import Foundation
import VitreousImage
import VitreousModel
import VitreousTensor

/// One image as the encoder saw it.
struct PreparedImage {
    let path: String
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
    }

    struct Summary {
        let processed: Int
        let failures: [Failure]
        let seconds: Double
    }

    func run(_ paths: [String], label: String = "images",
             handle: ([PreparedImage], EncoderOutput) throws -> Void) -> Summary {
        let start = Date()
        let progress = ProgressBar(total: paths.count, label: label, enabled: showProgress)
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
                try handle(batch, try encoder.encode(tensor, options: options))
                processed += batch.count
            } catch {
                failures += batch.map { Failure(path: $0.path, error: error) }
            }
            progress.advance(by: batch.count)
        }

        for path in paths {
            do {
                let image = try policy.apply(to: try PNG.read(path).rgb())
                if let first = pending.first, first.image.width != image.width || first.image.height != image.height {
                    flush()
                }
                pending.append(PreparedImage(path: path, image: image))
                if pending.count >= batchSize { flush() }
            } catch {
                failures.append(Failure(path: path, error: error))
                progress.advance()
            }
        }
        flush()
        return Summary(processed: processed, failures: failures, seconds: Date().timeIntervalSince(start))
    }
}

extension ImageRun.Summary {
    /// Prints the failures, one line each, and throws when there were any so the exit code says so.
    func report() throws {
        for failure in failures {
            FileHandle.standardError.write(Data("error: \(failure.message)\n".utf8))
        }
        if !failures.isEmpty {
            throw CLIError("\(failures.count) of \(processed + failures.count) images failed (listed above)")
        }
    }
}
