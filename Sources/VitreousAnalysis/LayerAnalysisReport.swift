import VitreousTensor

/// Every number of a finished ``LayerAnalysis``: per block and head for attention measures (blocks 1…depth),
/// per layer for representation measures (layer 0 = embedding output, layer L = output of block L).
public struct LayerAnalysisReport: Sendable {
    /// Images analysed.
    public var images = 0
    /// `[block][head]` mean attention distance in pixels.
    public var attentionDistance: [[Double]]?
    /// `[block][head]` mean attention entropy in nats.
    public var entropy: [[Double]]?
    /// `[block][head]` mean Jaccard index of the 60 % CLS-attention mask against the truth masks.
    public var segmentation: [[Double]]?
    /// `[layer][step]` relative log amplitude of the patch maps' spectrum.
    public var frequency: [[Double]]?
    /// Per pooling, the `[layer][layer]` linear CKA matrix (NaN where undefined).
    public var cka: [LayerPooling: [[Double]]] = [:]
    /// Per pooling, NCC accuracy per layer.
    public var ncc: [LayerPooling: [Double]] = [:]
    /// Per pooling, weighted k-NN top-1 and top-5 accuracy per layer.
    public var knn: [LayerPooling: (top1: [Double], top5: [Double])] = [:]

    /// An empty report (no image, no measure).
    public init() {}

    /// The `results` object of `analysis.json`: the same keys, NaN kept (the writer turns it into null).
    public var results: [String: Any] {
        var results: [String: Any] = [:]
        func perHead(_ name: String, _ values: [[Double]]?) {
            guard let values else { return }
            results[name] = ["per_block_per_head": values, "per_block_mean": values.map(meanOf)]
        }
        perHead("attention-distance", attentionDistance)
        perHead("entropy", entropy)
        perHead("segmentation", segmentation)
        if let frequency {
            results["frequency"] = ["relative_log_amplitude_per_layer": frequency,
                                    "high_frequency_per_layer": frequency.map { $0.last ?? 0 }]
        }
        if !cka.isEmpty { results["cka"] = Dictionary(uniqueKeysWithValues: cka.map { ($0.key.rawValue, $0.value) }) }
        if !ncc.isEmpty || !knn.isEmpty {
            var accuracy: [String: Any] = [:]
            for pooling in LayerPooling.allCases {
                let n = ncc[pooling], nn = knn[pooling]
                accuracy[pooling.rawValue] = ["ncc": n as Any, "knn_top1": nn?.top1 as Any, "knn_top5": nn?.top5 as Any]
            }
            results["classification"] = accuracy
        }
        return results
    }
}

func meanOf(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }

extension LayerAnalysis {
    /// Rows (in store order) queried and used for training; without a split every row is both.
    private func rows() -> (queries: [Int], train: [Int]) {
        guard let labels else { return ([], []) }
        let all = Array(encoded.indices)
        guard labels.hasSplit else { return (all, all) }
        return (all.filter { labels.validation[encoded[$0]] }, all.filter { !labels.validation[encoded[$0]] })
    }

    /// The report: the streamed measures, CKA from its accumulators, NCC and k-NN by reading the pooled
    /// features back block by block (`k` neighbours, votes `exp(s / temperature)`).
    /// - Throws: ``AnalysisError`` when a measure cannot be computed from the images added.
    public mutating func finish(k: Int = 20, temperature: Double = 0.07, device: Device = .cpu) throws -> LayerAnalysisReport {
        var report = LayerAnalysisReport()
        report.images = encoded.count
        if !attention.isEmpty {
            if metrics.contains(.attentionDistance) { report.attentionDistance = attention.map(\.meanDistance) }
            if metrics.contains(.entropy) { report.entropy = attention.map(\.meanEntropy) }
        }
        if !segmentation.isEmpty { report.segmentation = segmentation.map(\.meanJaccard) }
        if !frequency.isEmpty { report.frequency = frequency.map(\.relativeLogAmplitude) }
        for (pooling, accumulator) in cka {
            var accumulator = accumulator
            do {
                report.cka[pooling] = try accumulator.finish()
            } catch {
                throw AnalysisError.insufficientData("cka: \(error)")
            }
        }
        guard var store, let labels else { return report }
        try store.close()
        self.store = store
        let (queries, train) = rows()
        let labelOf = encoded.map { labels.labels[$0] }
        let trainSet = Set(train), querySet = Set(queries)
        let d = store.dimension, block = 4096
        for pooling in poolings {
            var nccAccuracy: [Double] = [], top1: [Double] = [], top5: [Double] = []
            for layer in 0..<store.layers {
                if metrics.contains(.ncc), let centres = centres[pooling]?[layer] {
                    var hits = 0
                    try store.blocks(pooling.rawValue, layer, rows: block) { first, values in
                        let picked = (first..<(first + values.count / d)).filter { querySet.contains($0) }
                        let rows = picked.flatMap { values[(($0 - first) * d)..<(($0 - first + 1) * d)] }
                        let predicted = try centres.predict(Array(rows), rows: picked.count)
                        hits += zip(predicted, picked).filter { $0 == labelOf[$1] }.count
                    }
                    nccAccuracy.append(Double(hits) / Double(max(queries.count, 1)))
                }
                if metrics.contains(.knn) {
                    let (one, five) = try knnAccuracy(store, pooling, layer, queries: queries, trainSet: trainSet,
                                                      labelOf: labelOf, k: k, temperature: temperature, device: device)
                    top1.append(one)
                    top5.append(five)
                }
            }
            if metrics.contains(.ncc) { report.ncc[pooling] = nccAccuracy }
            if metrics.contains(.knn) { report.knn[pooling] = (top1, top5) }
        }
        return report
    }

    /// Weighted k-NN top-1 and top-5 of one layer: queries in blocks, each against every training block.
    private func knnAccuracy(_ store: any PooledFeatureSink, _ pooling: LayerPooling, _ layer: Int, queries: [Int],
                             trainSet: Set<Int>, labelOf: [Int], k: Int, temperature: Double,
                             device: Device) throws -> (Double, Double) {
        let d = store.dimension, block = 4096
        let classes = labels?.classCount ?? 0
        let leaveOneOut = labels?.hasSplit != true
        var hits1 = 0, hits5 = 0
        let querySet = Set(queries)
        try store.blocks(pooling.rawValue, layer, rows: block) { first, values in
            let picked = (first..<(first + values.count / d)).filter { querySet.contains($0) }
            guard !picked.isEmpty else { return }
            let rows = picked.flatMap { values[(($0 - first) * d)..<(($0 - first + 1) * d)] }
            var search = try NeighbourSearch(queries: Array(rows), rows: picked.count, dimension: d, k: k, device: device,
                                             ids: leaveOneOut ? picked : nil)
            try store.blocks(pooling.rawValue, layer, rows: block) { trainFirst, trainValues in
                let chosen = (trainFirst..<(trainFirst + trainValues.count / d)).filter { trainSet.contains($0) }
                let features = chosen.flatMap { trainValues[(($0 - trainFirst) * d)..<(($0 - trainFirst + 1) * d)] }
                try search.add(Array(features), labels: chosen.map { labelOf[$0] }, ids: leaveOneOut ? chosen : nil)
            }
            let ranked = KNNVote.rank(search.neighbours, classes: classes, temperature: temperature)
            for (ranking, row) in zip(ranked, picked) {
                if ranking.first == labelOf[row] { hits1 += 1 }
                if ranking.prefix(5).contains(labelOf[row]) { hits5 += 1 }
            }
        }
        let n = Double(max(queries.count, 1))
        return (Double(hits1) / n, Double(hits5) / n)
    }
}
