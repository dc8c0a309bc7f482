import Foundation
import VitreousModel

// analysis.json as one document for every front end: `vitreous analyze`, the C API and Python write the same
// keys from the same ``LayerAnalysisReport``; each adds its own metadata (model, options, version).

extension LayerAnalysisReport {
    /// What `layer_numbering` says in every analysis.json.
    public static let layerNumbering =
        "layer 0 = embedding output, layer L = output of block L; attention measures per block 1…depth"

    /// analysis.json's `config`: the model's family, width, depth, heads, patch size and registers, as every
    /// front end writes it.
    public static func configMetadata(_ config: ViTConfig) -> [String: Any] {
        ["family": "\(config.family)", "hidden_size": config.hiddenSize, "depth": config.depth, "heads": config.heads,
         "patch_size": config.patchSize, "registers": config.registerCount]
    }

    /// The whole analysis.json object: `metadata` (the caller's keys: model, options, version), `images`,
    /// `layer_numbering` and ``results``. Feed it to ``json(_:)``.
    public func document(metadata: [String: Any]) -> [String: Any] {
        var document = metadata
        document["images"] = document["images"] ?? images
        document["layer_numbering"] = Self.layerNumbering
        document["results"] = results
        return document
    }

    /// `document` as pretty-printed JSON with sorted keys; NaN and infinities (an undefined CKA entry) become
    /// null, which JSON cannot otherwise hold.
    /// - Throws: ``AnalysisError/invalidArgument(_:)`` for a value JSON cannot hold.
    public static func json(_ document: [String: Any]) throws -> Data {
        let safe = jsonSafe(document)
        guard JSONSerialization.isValidJSONObject(safe) else {
            throw AnalysisError.invalidArgument("the analysis document holds a value JSON cannot represent")
        }
        return try JSONSerialization.data(withJSONObject: safe, options: [.sortedKeys, .prettyPrinted])
    }

    /// One measure as a dense row-major matrix `[rows, columns]` (NaN kept), by the name the C API and Python
    /// use: `attention-distance`, `entropy`, `segmentation` (`[blocks, heads]`), `frequency`
    /// (`[layers, steps]`), `cka-POOLING` (`[layers, layers]`), `ncc-POOLING`, `knn-top1-POOLING`,
    /// `knn-top5-POOLING` (`[layers, 1]`), POOLING being `cls` or `mean-patch`; nil when not measured.
    public func matrix(named name: String) -> (values: [Double], rows: Int, columns: Int)? {
        func dense(_ values: [[Double]]?) -> (values: [Double], rows: Int, columns: Int)? {
            guard let values else { return nil }
            let columns = values.first?.count ?? 0
            guard values.allSatisfy({ $0.count == columns }) else { return nil }
            return (values.flatMap { $0 }, values.count, columns)
        }
        func column(_ values: [Double]?) -> (values: [Double], rows: Int, columns: Int)? {
            values.map { ($0, $0.count, 1) }
        }
        switch name {
        case "attention-distance": return dense(attentionDistance)
        case "entropy": return dense(entropy)
        case "segmentation": return dense(segmentation)
        case "frequency": return dense(frequency)
        default: break
        }
        for pooling in LayerPooling.allCases {
            switch name {
            case "cka-\(pooling.rawValue)": return dense(cka[pooling])
            case "ncc-\(pooling.rawValue)": return column(ncc[pooling])
            case "knn-top1-\(pooling.rawValue)": return column(knn[pooling]?.top1)
            case "knn-top5-\(pooling.rawValue)": return column(knn[pooling]?.top5)
            default: continue
            }
        }
        return nil
    }
}

extension AnalysisMetric {
    /// Every measure the data allows, what `vitreous analyze` runs without `--metrics`: NCC and k-NN only with
    /// labels, segmentation only with masks.
    public static func allowed(hasLabels: Bool, hasMasks: Bool) -> Set<AnalysisMetric> {
        Set(allCases.filter { ($0 != .ncc && $0 != .knn || hasLabels) && ($0 != .segmentation || hasMasks) })
    }

    /// The measures of a comma-separated list of raw values (`"cka,ncc"`), blanks ignored.
    /// - Throws: ``AnalysisError/invalidArgument(_:)`` naming an unknown measure and listing the known ones.
    public static func parse(_ list: String) throws -> Set<AnalysisMetric> {
        try Set(list.split(separator: ",").map { word in
            let name = word.trimmingCharacters(in: .whitespaces)
            guard let metric = AnalysisMetric(rawValue: name) else {
                throw AnalysisError.invalidArgument("unknown measure '\(name)'; use "
                    + AnalysisMetric.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return metric
        })
    }
}

extension AnalysisLabels {
    /// Checks that the labels support NCC and k-NN with `k` neighbours, as `vitreous analyze` checks its
    /// folders: at least two classes, at least two training images per class, and `k` no more than the
    /// training images each query can use (one fewer without a split, the query itself left out).
    /// - Throws: ``AnalysisError/insufficientData(_:)`` saying which class or how many images.
    public func validate(k: Int?) throws {
        let present = Set(labels)
        guard present.count >= 2 else {
            throw AnalysisError.insufficientData("labels: only one class (\(present.first.map(String.init) ?? "none")); "
                + "NCC and k-NN need at least two")
        }
        for c in present.sorted() {
            let count = zip(labels, validation).filter { $0.0 == c && !$0.1 }.count
            if count < 2 {
                throw AnalysisError.insufficientData("class \(c) has \(count) training image\(count == 1 ? "" : "s"); "
                    + "every class needs at least 2")
            }
        }
        if let k {
            let train = validation.filter { !$0 }.count - (hasSplit ? 0 : 1)
            guard k <= train else {
                throw AnalysisError.insufficientData("k \(k) is larger than the \(train) training images each query "
                    + "can use; lower k")
            }
        }
    }
}

/// `value` with NaN and infinities as null, which JSON cannot hold.
func jsonSafe(_ value: Any) -> Any {
    switch value {
    case let number as Double: return number.isFinite ? number : NSNull()
    case let array as [Any]: return array.map(jsonSafe)
    case let object as [String: Any]: return object.mapValues(jsonSafe)
    case Optional<Any>.none: return NSNull()
    default: return value
    }
}
