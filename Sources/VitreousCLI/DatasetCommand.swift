import ArgumentParser
import Foundation
import VitreousModel

/// The options of `vitreous encode --dataset`.
struct DatasetOptions: ParsableArguments {
    @Flag(name: .long, help: """
        Write a dataset (chunks, index, run.json; resumable) instead of one file per image. Off by default; \
        --shard turns it on.
        """)
    var dataset = false

    @Option(name: .long, help: "With --dataset: images per chunk file.")
    var chunkSize = 1024

    @Option(name: .long, help: ArgumentHelp("""
        With --dataset: encode shard i of N of the sorted inputs (every N-th from the i-th), or auto: from \
        SLURM_ARRAY_TASK_ID/_MIN/_COUNT (Slurm job array) or JOB_COMPLETION_INDEX and JOB_COMPLETIONS \
        (Kubernetes Indexed Job).
        """, valueName: "i/N|auto"))
    var shard: String?

    @Flag(name: .long, help: "With --dataset: also save the patch tokens [N, gh, gw, D].")
    var patches = false

    @Option(name: .long, help: ArgumentHelp("""
        With --dataset: also save per-layer pooled features, the CLS and the mean patch token of the residual \
        stream after these layers (comma-separated in 0...depth, 0 the embeddings, or all), as \
        `pooled_cls.L` and `pooled_mean_patch.L` [N, D].
        """, valueName: "layers"))
    var pooledLayers: String?

    @Option(name: .long, help: ArgumentHelp("""
        With --dataset: threads that decode and resize images while the encoder runs (default: half the cores, \
        at least 1).
        """, valueName: "count"))
    var decodeThreads: Int?

    @Flag(name: .long, help: """
        With --dataset: encode again the inputs earlier runs recorded as failed in the index (a rerun without \
        it leaves them as recorded).
        """)
    var retryFailed = false

    var enabled: Bool { dataset || shard != nil }

    func validate() throws {
        guard chunkSize >= 1 else { throw ValidationError("--chunk-size must be at least 1") }
        if let decodeThreads, decodeThreads < 1 { throw ValidationError("--decode-threads must be at least 1") }
        if !enabled && retryFailed { throw ValidationError("--retry-failed needs --dataset") }
        if !enabled && pooledLayers != nil { throw ValidationError("--pooled-layers needs --dataset") }
        if !enabled && patches { throw ValidationError("--patches needs --dataset (per-image files always hold patches)") }
    }
}

extension Encode {
    func runDataset() throws {
        guard format == .safetensors else { throw CLIError("--dataset writes safetensors chunks; leave out --format npy") }
        guard !inputs.overwrite && !inputs.skipExisting else {
            throw CLIError("--dataset resumes on its own (committed inputs are skipped); to start over use a new --out folder")
        }
        let shard = try dataset.shard.map { try Shard.parse($0) } ?? .whole
        // From here on a signal stops the run cleanly (after the current batch) instead of killing it.
        let stop = StopRequest()
        let found = try inputs.collect()
        let folder = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CLIError("\(out): cannot create the output folder (\(error.localizedDescription))")
        }
        let encoder = try modelOptions.loadEncoder()
        let selected = try layerSelection(layers, depth: encoder.config.depth)
        let pooled = try dataset.pooledLayers.map { try layerSelection($0, depth: encoder.config.depth, option: "--pooled-layers") } ?? []
        let parameters = try DatasetParameters(
            weights: try ModelLocation(modelOptions.model).weights, config: encoder.config, size: modelOptions.size,
            crop: modelOptions.crop, exifOrientation: inputs.exifOrientation, patches: dataset.patches,
            layers: selected, pooledLayers: pooled, shards: shard.count, precision: encoder.precision)
        try parameters.establish(in: folder)
        var run = DatasetRun(
            encoder: encoder, policy: try modelOptions.resizePolicy(for: encoder.config),
            readOptions: inputs.readOptions, maxTokens: modelOptions.maxTokens, batchSize: batch,
            chunkSize: dataset.chunkSize, patches: dataset.patches, layers: selected, shard: shard,
            parameters: parameters,
            decodeThreads: dataset.decodeThreads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / 2),
            folder: folder)
        run.retryFailed = dataset.retryFailed
        run.pooledLayers = pooled
        let outcome = try run.run(found.images, stop: stop, showProgress: true)
        let rate = outcome.seconds > 0 ? (Double(outcome.encoded) / outcome.seconds * 100).rounded() / 100 : 0
        var summary = ImageRun.Summary(processed: outcome.encoded, failures: outcome.failures, seconds: outcome.seconds)
        summary.notImages = found.notImages
        if let signal = outcome.stoppedBy {
            FileHandle.standardError.write(Data("""
                interrupted: \(outcome.encoded) images committed to \(folder.path) (shard \(shard)); \
                rerun the same command to finish\n
                """.utf8))
            throw ExitCode(128 + signal)
        }
        if !outcome.failedBefore.isEmpty {
            FileHandle.standardError.write(Data("""
                \(outcome.failedBefore.count) input\(outcome.failedBefore.count == 1 ? "" : "s") failed in an earlier run \
                and \(outcome.failedBefore.count == 1 ? "was" : "were") left as recorded in \
                \(DatasetFiles.index(shard: shard.index)); add --retry-failed to encode \
                \(outcome.failedBefore.count == 1 ? "it" : "them") again\n
                """.utf8))
        }
        try summary.finish(
            json: inputs.json,
            text: String(format: "encoded %d images in %.2f s (%.2f/s) on %@ → %@ (shard %@%@)", outcome.encoded,
                         outcome.seconds, rate, encoder.device.description, folder.path, shard.description,
                         outcome.resumedFrom > 0 ? ", \(outcome.resumedFrom) done before" : ""),
            fields: ["command": "encode", "dataset": true, "images_per_second": rate, "device": encoder.device.description,
                     "model": modelOptions.model, "out": folder.path, "shard": shard.description,
                     "already_done": outcome.resumedFrom, "failed_before": outcome.failedBefore,
                     "stages_seconds": outcome.stages.json,
                     "queue_depth": run.queueDepth])
    }
}
