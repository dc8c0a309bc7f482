import Foundation
import VitreousAnalysis
import VitreousModel
import VitreousTensor

/// `vitreous-bench --knn DIR`: the k-NN search `vitreous analyze` runs (``VitreousAnalysis/NeighbourSearch``:
/// blocked similarity GEMM, top k kept per block), timed on `DIR/train.npy` `[N, D]` and `DIR/queries.npy`
/// `[Q, D]` (float32), so that Benchmarks/knn.py can time a numpy brute force on the same data in the same
/// run. Writes `DIR/vitreous-neighbours.npy` `[Q, k]` (training row indices, best first, as float64).
struct KNNBenchmark {
    let device: Device
    let k: Int
    /// Training rows per similarity GEMM (as `analyze` reads its feature store).
    let block: Int

    /// Seconds of the search (queries normalised and uploaded, every training block merged).
    func run(folder: URL) throws -> Double {
        let train = try NPYArray(contentsOf: folder.appendingPathComponent("train.npy"))
        let queries = try NPYArray(contentsOf: folder.appendingPathComponent("queries.npy"))
        guard train.shape.count == 2, queries.shape.count == 2, train.shape[1] == queries.shape[1] else {
            throw ValidationErrorText("--knn: train.npy \(train.shape) and queries.npy \(queries.shape) must be [N, D] and [Q, D]")
        }
        let (n, q, d) = (train.shape[0], queries.shape[0], train.shape[1])
        let trainValues = train.floats, queryValues = queries.floats
        let start = Date()
        var search = try NeighbourSearch(queries: queryValues, rows: q, dimension: d, k: k, device: device)
        for first in stride(from: 0, to: n, by: block) {
            let end = min(first + block, n)
            // The label of a training row is its index, so the neighbours name the rows.
            try search.add(Array(trainValues[(first * d)..<(end * d)]), labels: Array(first..<end))
        }
        let seconds = Date().timeIntervalSince(start)
        let indices = search.neighbours.flatMap { kept in kept.map { Double($0.label) } }
        try NPYArray(indices, shape: [q, k]).write(to: folder.appendingPathComponent("vitreous-neighbours.npy"))
        return seconds
    }
}
