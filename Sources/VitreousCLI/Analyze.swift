import ArgumentParser
import Foundation
import VitreousAnalysis
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model's behaviour layer by layer on your images: attention distance and entropy, CKA, frequency, NCC, k-NN, attention as segmentation.",
        discussion: """
            Streams the images through the encoder once, one batch of token states at a time, and writes into \
            --out: analysis.json (every number, the model's fingerprint, the options and the version), one CSV \
            per measure and figures. Layer 0 is the embedding output, layer L the output of block L; attention \
            measures belong to blocks 1…depth. Representation measures use the CLS token and the mean patch \
            token of the residual stream (before the final norm).
            Labels (for ncc and knn) come from one sub-folder per class or --labels CSV (columns path,label); \
            --split names a CSV column (train/val) or a validation fraction (seeded by --seed). Without a \
            split, NCC is measured on the training images and k-NN leaves each image out of its own \
            neighbours. --masks FOLDER (PNG masks with the inputs' relative names, the size of each image) \
            scores the CLS attention of every head and block as a segmentation (DINO's 60 % mass masks).
            Every --chunk-size inputs the pooled features go to a chunk file in --out/pooled and the state to \
            --out/checkpoint.plist (a crash loses at most one chunk); Ctrl-C stops after the batch with a \
            checkpoint. Rerunning the same command resumes there and gives the numbers of an uninterrupted run; \
            a checkpoint of other options or another model is refused, --restart discards it. \
            See the article "Analysing a model".
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var figures: FigureOptions

    @Option(name: .long, help: "Output folder.")
    var out = "analysis"

    @Option(name: .long, help: "Images per forward pass (images of one size are batched).")
    var batch = 8

    @Option(name: .long, help: ArgumentHelp("""
        Comma-separated: attention-distance, entropy, cka, frequency, ncc, knn, segmentation (default: all that \
        the data allows: ncc and knn need labels, segmentation masks).
        """, valueName: "list"))
    var metrics: String?

    @Option(name: .long, help: ArgumentHelp("A CSV with columns path and label (paths relative to the CSV).", valueName: "csv"))
    var labels: String?

    @Option(name: .long, help: ArgumentHelp("Validation split: a column of the --labels CSV (train/val) or a fraction.",
                                            valueName: "column|fraction"))
    var split: String?

    @Option(name: .long, help: "Seed of a fractional --split.")
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("Folder of PNG masks named as the inputs (same relative paths).", valueName: "folder"))
    var masks: String?

    @Option(name: .long, help: "Neighbours of the weighted k-NN vote (DINO: 20).")
    var k = 20

    @Option(name: .long, help: "Temperature of the k-NN vote weights exp(s / T) (DINO: 0.07).")
    var temperature = 0.07

    @Option(name: .long, help: "Images per minibatch of the CKA estimator (at least 4).")
    var ckaMinibatch = 256

    @Option(name: .long, help: ArgumentHelp("""
        Inputs per checkpoint: after each, the pooled features go to one chunk file and the state to \
        checkpoint.plist in --out, so a rerun of the same command resumes there.
        """, valueName: "count"))
    var chunkSize = 1024

    @Flag(name: .long, help: "Discard the checkpoint an earlier run left in --out and start over.")
    var restart = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard k >= 1 else { throw ValidationError("--k must be at least 1") }
        guard temperature > 0 else { throw ValidationError("--temperature must be positive") }
        guard ckaMinibatch >= 4 else { throw ValidationError("--cka-minibatch must be at least 4 (the unbiased estimator needs 4)") }
        guard chunkSize >= 1 else { throw ValidationError("--chunk-size must be at least 1") }
    }

    /// The measures asked for, or all the data allows.
    func chosenMetrics(hasLabels: Bool) throws -> Set<AnalysisMetric> {
        guard let metrics else { return AnalysisMetric.allowed(hasLabels: hasLabels, hasMasks: masks != nil) }
        let chosen: Set<AnalysisMetric>
        do {
            chosen = try AnalysisMetric.parse(metrics)
        } catch let AnalysisError.invalidArgument(message) {
            throw CLIError("--metrics: \(message)")
        }
        if !hasLabels, let needs = chosen.first(where: { $0 == .ncc || $0 == .knn }) {
            throw CLIError("--metrics \(needs.rawValue) needs labels: one sub-folder per class, or --labels CSV")
        }
        if masks == nil, chosen.contains(.segmentation) {
            throw CLIError("--metrics segmentation needs --masks FOLDER")
        }
        return chosen
    }

    func run() throws {
        // From here on a signal stops the run after the current batch, checkpointed, instead of killing it.
        let stop = StopRequest()
        let found = try inputs.collect()
        let images = found.images
        let classes = try AnalyzeLabels.resolve(images, csv: labels, split: split, seed: seed)
        let chosen = try chosenMetrics(hasLabels: classes != nil)
        if let classes, chosen.contains(.knn) {
            let train = classes.validation.filter { !$0 }.count - (classes.hasSplit ? 0 : 1)
            guard k <= train else {
                throw CLIError("--k \(k) is larger than the \(train) training images each query can use; lower --k")
            }
        }
        let encoder = try modelOptions.loadEncoder()
        let config = encoder.config
        let folder = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CLIError("\(out): cannot create the output folder (\(error.localizedDescription))")
        }
        let features = folder.appendingPathComponent("pooled")
        let fingerprint = try WeightFingerprint.sha256(try encoder.weights.host().allArrays())
        let parameters = try checkpointParameters(images, classes: classes, metrics: chosen, encoder: encoder,
                                                  fingerprint: fingerprint)
        if restart { try AnalyzeCheckpoint.discard(in: folder, features: features) }
        let resumed = try AnalyzeCheckpoint.read(folder)
        try resumed?.check(parameters, in: folder)
        let options = AnalysisMetric.encoderOptions(for: chosen, depth: config.depth)
        let run = try modelOptions.imageRun(encoder, inputs: inputs, batch: batch, options: options)
        var state = try AnalyzeState(metrics: chosen, config: config, labels: classes, ckaMinibatch: ckaMinibatch,
                                     featureFolder: features, checkpoint: resumed)
        try state.prepareOverlays(images, with: run)
        let start = min(resumed?.next ?? 0, images.count)
        let earlier = resumed?.failures ?? []
        let position = Dictionary(uniqueKeysWithValues: images.enumerated().map { ($1.path, $0) })
        let maskReader = masks.map { MaskReader(folder: $0, policy: run.policy, readOptions: inputs.readOptions,
                                                patch: config.patchSize) }
        var saved = start, saveError: Error?
        func save(_ done: Int, _ failures: [ImageRun.Failure]) {
            do {
                let all = earlier + failures.map { AnalyzeCheckpoint.Failure(path: $0.path, message: $0.message) }
                try state.checkpoint(next: done, failures: all, parameters: parameters).write(to: folder)
                saved = done
            } catch {
                saveError = error
            }
        }
        let summary = run.run(Array(images[start...]), between: { done, failures in
            let stopping = stop.received != nil
            if stopping || start + done - saved >= chunkSize { save(start + done, failures) }
            return stopping || saveError != nil
        }) { batch, output in
            let positions = batch.map { position[$0.path] ?? 0 }
            let truths = try positions.map { try maskReader?.mask(for: images[$0]) }
            try state.add(batch, output, positions: positions, inputs: positions.map { images[$0] }, masks: truths)
        }
        if let saveError { throw saveError }
        if let signal = stop.received {
            if summary.stoppedAt == nil { save(images.count, summary.failures) }
            if let saveError { throw saveError }
            FileHandle.standardError.write(Data("""
                interrupted: \(saved) of \(images.count) inputs analysed and checkpointed in \(folder.path); \
                rerun the same command to resume\n
                """.utf8))
            throw ExitCode(128 + signal)
        }
        if saved < images.count || resumed == nil { save(images.count, summary.failures) }
        if let saveError { throw saveError }
        // Everything is checkpointed: a signal now just ends the run (a rerun only redoes what follows).
        InterruptCleanup.watch(folder)
        let failures = earlier.map { ImageRun.Failure(path: $0.path, message: $0.message) } + summary.failures
        guard !state.encoded.isEmpty else {
            try ImageRun.Summary(processed: 0, failures: failures, seconds: summary.seconds)
                .finish(json: inputs.json, text: "no image was encoded", fields: ["command": "analyze"])
            return
        }
        var report = AnalyzeReport(state: state, k: k, temperature: temperature, device: encoder.device)
        try report.classify()
        try report.write(to: folder, figures: figures, title: (modelOptions.model as NSString).lastPathComponent,
                         metadata: [
                            "version": VitreousCommand.version, "model": modelOptions.model,
                            "model_sha256": fingerprint, "device": encoder.device.description,
                            "config": LayerAnalysisReport.configMetadata(config),
                            "options": ["size": modelOptions.size, "batch": batch, "metrics": chosen.map(\.rawValue).sorted(),
                                        "labels": labels ?? (classes == nil ? "none" : "sub-folders"), "split": split ?? "none",
                                        "seed": seed, "masks": masks ?? "none", "k": k, "temperature": temperature,
                                        "cka_minibatch": ckaMinibatch],
                            "images": state.encoded.count, "classes": classes?.classes ?? [],
                         ])
        let rate = summary.seconds > 0 ? Double(summary.processed) / summary.seconds : 0
        var result = ImageRun.Summary(processed: summary.processed, failures: failures, seconds: summary.seconds)
        result.notImages = found.notImages
        try result.finish(json: inputs.json,
                          text: String(format: "analysed %d images (%.2f images/s) → %@%@", state.encoded.count, rate,
                                       folder.path, start > 0 ? ", resumed after \(start) inputs" : ""),
                          fields: ["command": "analyze", "out": folder.path, "images_per_second": (rate * 100).rounded() / 100,
                                   "resumed_from": start])
    }

    /// What a checkpoint must share with this run to be resumed: the model and how it runs, the inputs and
    /// their labels, and every option that changes what is accumulated (not --k or --temperature, which only
    /// the final step reads).
    func checkpointParameters(_ images: [InputImage], classes: AnalyzeLabels?, metrics: Set<AnalysisMetric>,
                              encoder: ViTEncoder, fingerprint: String) throws -> [String: String] {
        let coder = JSONEncoder()
        coder.outputFormatting = .sortedKeys
        let labelText = classes.map { classes in
            classes.classes.joined(separator: "\n") + "\n"
                + zip(classes.labels, classes.validation).map { "\($0),\($1)" }.joined(separator: ";")
        }
        return [
            "model_sha256": fingerprint, "config": String(decoding: try coder.encode(encoder.config), as: UTF8.self),
            "device": encoder.device.description, "precision": modelOptions.precision, "size": modelOptions.size,
            "crop": modelOptions.crop.rawValue, "max_tokens": String(modelOptions.maxTokens),
            "exif_orientation": String(inputs.exifOrientation), "batch": String(batch), "chunk_size": String(chunkSize),
            "metrics": metrics.map(\.rawValue).sorted().joined(separator: ","), "masks": masks ?? "none",
            "cka_minibatch": String(ckaMinibatch),
            "inputs": "\(images.count) images, sha256 " + (try textSHA256(images.map(\.path).joined(separator: "\n"))),
            "labels": try labelText.map { "sha256 " + (try textSHA256($0)) } ?? "none",
        ]
    }
}

/// A ground-truth mask for an input: `FOLDER/<relative path>.png` (the extension replaced), the size of the
/// image, resized and cropped as the image is, on the patch grid.
struct MaskReader {
    let folder: String
    let policy: ResizePolicy
    let readOptions: ImageReadOptions
    let patch: Int

    func mask(for image: InputImage) throws -> [Bool] {
        let relative = ((image.relative.isEmpty ? (image.path as NSString).lastPathComponent : image.relative) as NSString)
            .deletingPathExtension + ".png"
        let path = (folder as NSString).appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("\(image.path): no mask \(path)") }
        let mask = try ImageFile.read(path)
        let original = try ImageFile.read(image.path, options: readOptions)
        guard mask.width == original.width, mask.height == original.height else {
            throw CLIError("\(path): the mask is \(mask.width)×\(mask.height), its image \(image.path) is \(original.width)×\(original.height)")
        }
        let prepared = try policy.prepare(mask)
        let gray = stride(from: 0, to: prepared.pixels.count, by: prepared.channels).map { prepared.pixels[$0] }
        return try AttentionSegmentation.patchMask(gray, height: prepared.height, width: prepared.width, patchSize: patch)
    }
}

extension ViTHostWeights {
    /// Every parameter in slot order: what the model fingerprint hashes.
    func allArrays() throws -> [[Float]] {
        var arrays: [[Float]] = []
        _ = try map { values, _ in arrays.append(values) }
        return arrays
    }
}
