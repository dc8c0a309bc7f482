import Foundation
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

/// Which part of the sorted input list a run encodes: shard `index` of `count` takes the inputs at positions
/// `index`, `index + count`, `index + 2·count`… (round robin, so every shard sees a mix of the folders).
struct Shard: Equatable, CustomStringConvertible {
    let index: Int
    let count: Int

    static let whole = Shard(index: 0, count: 1)

    var description: String { "\(index)/\(count)" }

    /// `i/N`, or `auto`: Slurm job arrays (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of
    /// `SLURM_ARRAY_TASK_COUNT`), else Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX` of `JOB_COMPLETIONS`,
    /// which the Job's pod template sets to its `completions`).
    static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        func number(_ name: String) throws -> Int? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            guard let parsed = Int(value) else { throw CLIError("--shard auto: \(name)=\(value) is not a number") }
            return parsed
        }
        if text == "auto" {
            if let id = try number("SLURM_ARRAY_TASK_ID") {
                guard let count = try number("SLURM_ARRAY_TASK_COUNT") else {
                    throw CLIError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
                }
                let minimum = try number("SLURM_ARRAY_TASK_MIN") ?? 0
                return try checked(id - minimum, count, source: "SLURM_ARRAY_TASK_ID \(id) − SLURM_ARRAY_TASK_MIN "
                    + "\(minimum) of SLURM_ARRAY_TASK_COUNT \(count) (use a contiguous array, step 1)")
            }
            if let id = try number("JOB_COMPLETION_INDEX") {
                guard let count = try number("JOB_COMPLETIONS") else {
                    throw CLIError("--shard auto: JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not "
                        + "(set it in the pod template to the Job's completions)")
                }
                return try checked(id, count, source: "JOB_COMPLETION_INDEX \(id) of JOB_COMPLETIONS \(count)")
            }
            throw CLIError("--shard auto: neither SLURM_ARRAY_TASK_ID (Slurm job array) nor JOB_COMPLETION_INDEX "
                + "(Kubernetes Indexed Job) is set")
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw CLIError("--shard \(text): use i/N (0 ≤ i < N) or auto")
        }
        return try checked(index, count, source: "--shard \(text)")
    }

    private static func checked(_ index: Int, _ count: Int, source: String) throws -> Shard {
        guard count >= 1, (0..<count).contains(index) else {
            throw CLIError("\(source): shard \(index) of \(count) is not in 0..<\(count)")
        }
        return Shard(index: index, count: count)
    }

    /// This shard's part of `inputs` (sorted by path).
    func select<Element>(_ inputs: [Element]) -> [Element] {
        stride(from: index, to: inputs.count, by: count).map { inputs[$0] }
    }
}

/// File names and encodings of the dataset layout (README "Encoding a dataset"; Documentation/dataset-format.md).
enum DatasetFiles {
    static let format = "vitreous-dataset/1"

    static func chunk(shard: Int, chunk: Int) -> String {
        String(format: "features-%05d-%05d.safetensors", shard, chunk)
    }

    static func index(shard: Int) -> String { String(format: "index-%05d.jsonl", shard) }

    /// The shard whose index `name` is (`index-<shard>.jsonl`), if it is one.
    static func indexShard(_ name: String) -> Int? {
        guard name.hasPrefix("index-"), name.hasSuffix(".jsonl") else { return nil }
        return Int(name.dropFirst("index-".count).dropLast(".jsonl".count))
    }

    /// The chunk number in `name` when it is a chunk of `shard`.
    static func chunkNumber(_ name: String, shard: Int) -> Int? {
        let prefix = String(format: "features-%05d-", shard), suffix = ".safetensors"
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        return Int(name.dropFirst(prefix.count).dropLast(suffix.count))
    }

    /// One JSON line, keys sorted, slashes unescaped.
    static func jsonLine(_ object: [String: Any]) throws -> Data {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        data.append(0x0A)
        return data
    }
}

/// What makes features of one run comparable, written to `DIR/run.json` by the first shard and checked by
/// every later run or shard: a folder never mixes features of two models or two preprocessings.
struct DatasetParameters {
    let object: [String: Any]

    init(weights: URL, config: ViTConfig, size: String, crop: CropRounding, exifOrientation: Bool,
         patches: Bool, layers: [Int], pooledLayers: [Int] = [], shards: Int, precision: Precision = .fp32) throws {
        let configObject = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config))
        var model: [String: Any] = ["sha256": try fileSHA256(weights), "config": configObject]
        // Only a reduced precision is recorded, so that folders written before precisions existed still resume.
        if precision != .fp32 { model["precision"] = precision.rawValue }
        var outputs: [String: Any] = ["patches": patches, "layers": layers]
        // Recorded only when asked for, so that folders written before pooled layers existed still resume.
        if !pooledLayers.isEmpty { outputs["pooled_layers"] = pooledLayers }
        object = [
            "format": DatasetFiles.format,
            "model": model,
            "preprocessing": [
                "size": size, "crop_rounding": crop.rawValue, "exif_orientation": exifOrientation,
                "resample": config.family == .dinov3 && size.lowercased() != "auto"
                    ? "antialiased bilinear in float, no crop (transformers' DINOv3 image processor)"
                    : "Pillow bicubic on 8-bit RGB",
                "mean": Preprocessor.imageNetMean.map { Double("\($0)") ?? Double($0) },
                "std": Preprocessor.imageNetStd.map { Double("\($0)") ?? Double($0) },
            ],
            "outputs": outputs,
            "shards": shards,
        ]
    }

    init(object: [String: Any]) { self.object = object }

    var json: Data {
        get throws {
            var data = try JSONSerialization.data(withJSONObject: object,
                                                  options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted])
            data.append(0x0A)
            return data
        }
    }

    /// The run.json keys a chunk's metadata repeats, so that `vitreous index merge` can tell a chunk of
    /// another run.
    static let chunkKeys = ["model", "preprocessing", "outputs", "shards"]

    /// A chunk's `__metadata__`: the run's parameters as JSON strings, and the Vitreous version.
    var chunkMetadata: [String: String] {
        get throws {
            var metadata = ["producer": "vitreous encode --dataset", "vitreous_version": VitreousCommand.version,
                            "format": DatasetFiles.format]
            for key in DatasetParameters.chunkKeys {
                if let value = object[key] {
                    let data = try JSONSerialization.data(withJSONObject: value,
                                                          options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
                    metadata[key] = String(decoding: data, as: UTF8.self)
                }
            }
            return metadata
        }
    }

    /// The keys among `keys` whose values differ between `a` and `b`, sorted. Compared as serialised JSON:
    /// numbers read back from a file may differ in their last bits.
    static func differing(_ a: [String: Any], _ b: [String: Any], keys: Set<String>) -> [String] {
        func serialised(_ value: Any?) -> Data? {
            value.flatMap { try? JSONSerialization.data(withJSONObject: [$0], options: [.sortedKeys]) }
        }
        return keys.sorted().filter { serialised(a[$0]) != serialised(b[$0]) }
    }

    /// Writes `folder/run.json`, or checks the one there: a difference is an error naming what differs.
    func establish(in folder: URL) throws {
        let url = folder.appendingPathComponent("run.json")
        if let existing = FileManager.default.contents(atPath: url.path) {
            guard let stored = try? JSONSerialization.jsonObject(with: existing) as? [String: Any] else {
                throw CLIError("\(url.path): not a run description (JSON); use another --out folder")
            }
            let differing = DatasetParameters.differing(object, stored, keys: Set(stored.keys).union(object.keys))
            guard differing.isEmpty else {
                throw CLIError("\(url.path): this folder holds features of another run (different "
                    + differing.joined(separator: ", ") + "); use another --out folder or the same options")
            }
            return
        }
        try AtomicFile.write(try json, to: url)
    }
}

/// SHA-256 (hex) of a file's bytes, read in 4 MiB pieces.
func fileSHA256(_ url: URL) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: url.path) else { throw CLIError("\(url.path): cannot read") }
    defer { try? handle.close() }
    var hash = try SHA256()
    while let piece = try handle.read(upToCount: 1 << 22), !piece.isEmpty {
        piece.withUnsafeBytes { hash.update($0) }
    }
    return try hash.hexDigest()
}

/// Makes what was written to `path` durable (fsync); a folder after a rename into it.
func syncToDisk(_ path: String) throws {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw CLIError("\(path): cannot open to sync (\(String(cString: strerror(errno))))") }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw CLIError("\(path): fsync failed (\(String(cString: strerror(errno))))") }
}

/// The crop box in the original image's pixels (left, top, right, bottom) that `policy` encodes.
func cropBox(_ policy: ResizePolicy, width: Int, height: Int) -> [Double] {
    guard case .centerCrop(let size, let rounding) = policy else { return [0, 0, Double(width), Double(height)] }
    // As RGB8Image.resized(shorterSide:) then centerCropped: torchvision's output size, then the margins.
    let side = size * 256 / 224
    let (short, long) = width <= height ? (width, height) : (height, width)
    let newLong = max(1, Int(Double(side * long) / Double(short)))
    let (resizedWidth, resizedHeight) = width <= height ? (side, newLong) : (newLong, side)
    func offset(_ margin: Int) -> Int {
        rounding == .torchvision ? Int((Double(margin) / 2).rounded(.toNearestOrEven)) : margin / 2
    }
    let scaleX = Double(width) / Double(resizedWidth), scaleY = Double(height) / Double(resizedHeight)
    let left = Double(offset(resizedWidth - size)), top = Double(offset(resizedHeight - size))
    func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    return [rounded(left * scaleX), rounded(top * scaleY), rounded((left + Double(size)) * scaleX),
            rounded((top + Double(size)) * scaleY)]
}
