import Foundation
import VitreousAnalysis
import VitreousTensor

/// The results of `analyze`: the streamed measures, NCC and k-NN from the stored features, and their files.
struct AnalyzeReport {
    var state: AnalyzeState
    let k: Int
    let temperature: Double
    let device: Device
    /// Per pooling: accuracy per layer.
    var ncc: [LayerPooling: [Double]] = [:]
    var knn: [LayerPooling: (top1: [Double], top5: [Double])] = [:]
    var cka: [LayerPooling: [[Double]]] = [:]

    init(state: AnalyzeState, k: Int, temperature: Double, device: Device) {
        self.state = state
        self.k = k
        self.temperature = temperature
        self.device = device
    }

    /// Rows (in store order) queried and used for training; without a split every row is both.
    private func rows() -> (queries: [Int], train: [Int]) {
        guard let labels = state.labels else { return ([], []) }
        let all = Array(state.encoded.indices)
        guard labels.hasSplit else { return (all, all) }
        return (all.filter { labels.validation[state.encoded[$0]] }, all.filter { !labels.validation[state.encoded[$0]] })
    }

    /// CKA from its accumulators; NCC and k-NN by reading the pooled features back block by block.
    mutating func classify() throws {
        for (pooling, accumulator) in state.cka {
            var accumulator = accumulator
            do {
                cka[pooling] = try accumulator.finish()
            } catch {
                throw CLIError("cka: \(error)")
            }
        }
        guard var store = state.store, let labels = state.labels else { return }
        try store.close()
        let (queries, train) = rows()
        let labelOf = state.encoded.map { labels.labels[$0] }
        let trainSet = Set(train), querySet = Set(queries)
        let d = store.dimension, block = 4096
        for pooling in state.poolings {
            var nccAccuracy: [Double] = [], top1: [Double] = [], top5: [Double] = []
            for layer in 0..<store.layers {
                if state.metrics.contains(.ncc), let centres = state.centres[pooling]?[layer] {
                    var hits = 0
                    try store.blocks(pooling.rawValue, layer, rows: block) { first, values in
                        let picked = (first..<(first + values.count / d)).filter { querySet.contains($0) }
                        let rows = picked.flatMap { values[(($0 - first) * d)..<(($0 - first + 1) * d)] }
                        let predicted = try centres.predict(Array(rows), rows: picked.count)
                        hits += zip(predicted, picked).filter { $0 == labelOf[$1] }.count
                    }
                    nccAccuracy.append(Double(hits) / Double(max(queries.count, 1)))
                }
                if state.metrics.contains(.knn) {
                    let (one, five) = try knnAccuracy(store, pooling, layer, queries: queries, trainSet: trainSet,
                                                      labelOf: labelOf, leaveOneOut: !labels.hasSplit)
                    top1.append(one)
                    top5.append(five)
                }
            }
            if state.metrics.contains(.ncc) { ncc[pooling] = nccAccuracy }
            if state.metrics.contains(.knn) { knn[pooling] = (top1, top5) }
        }
    }

    /// Weighted k-NN top-1 and top-5 of one layer: queries in blocks, each against every training block.
    private func knnAccuracy(_ store: PooledFeatureStore, _ pooling: LayerPooling, _ layer: Int, queries: [Int],
                             trainSet: Set<Int>, labelOf: [Int], leaveOneOut: Bool) throws -> (Double, Double) {
        let d = store.dimension, block = 4096
        let classes = state.labels?.classes.count ?? 0
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
