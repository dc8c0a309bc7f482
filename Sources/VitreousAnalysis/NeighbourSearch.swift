import Foundation
import VitreousTensor

/// The k nearest training features of a block of queries by cosine similarity, found as a blocked
/// similarity GEMM on a ``VitreousTensor/Device``: training features arrive in blocks (from memory or read
/// chunk by chunk from disk), each block's `[queries, block]` similarities are one `linear` on the device,
/// and only the best k per query are kept between blocks. Memory: the queries, one block and k per query.
public struct NeighbourSearch: Sendable {
    /// Neighbours kept per query.
    public let k: Int
    /// Channels per feature.
    public let dimension: Int
    /// Where the similarity GEMM runs.
    public let device: Device
    /// L2-normalised queries on the device, `[queries, dimension]`.
    private let queries: Tensor
    /// Number of queries.
    public let queryCount: Int
    /// Per query, the best k so far: similarity and training label, best first.
    public private(set) var neighbours: [[(similarity: Float, label: Int)]]
    /// Training features seen so far.
    public private(set) var trainCount = 0
    /// The queries' image ids, for leave-one-out: a training feature with a query's id is not its neighbour.
    private let queryIDs: [Int]?

    /// - Parameters:
    ///   - queries: `[rows, dimension]`, normalised here.
    ///   - ids: with the training blocks' ids, leaves each image out of its own neighbours (queries drawn
    ///     from the training set).
    public init(queries: [Float], rows: Int, dimension: Int, k: Int, device: Device = .cpu, ids: [Int]? = nil) throws {
        guard k > 0, dimension > 0, rows > 0 else {
            throw AnalysisError.invalidArgument("k-NN: k \(k), \(rows) queries of dimension \(dimension)")
        }
        try requireCount(queries, rows * dimension, "k-NN queries [\(rows), \(dimension)]")
        if let ids { try requireCount(ids, rows, "k-NN query ids") }
        queryIDs = ids
        self.k = k
        self.dimension = dimension
        self.device = device
        queryCount = rows
        self.queries = try Tensor(normalizedRows(queries, dimension), shape: [rows, dimension], on: device)
        neighbours = Array(repeating: [], count: rows)
    }

    /// Merges one block of training features `[labels.count, dimension]` (normalised here); `ids` (with
    /// query ids) name the images for leave-one-out.
    public mutating func add(_ features: [Float], labels: [Int], ids: [Int]? = nil) throws {
        let rows = labels.count
        guard rows > 0 else { return }
        try requireCount(features, rows * dimension, "k-NN training block [\(rows), \(dimension)]")
        if let ids { try requireCount(ids, rows, "k-NN training ids") }
        let block = try Tensor(normalizedRows(features, dimension), shape: [rows, dimension], on: device)
        let similarities = try linear(queries, weight: block).toArray()
        for q in 0..<queryCount {
            var kept = neighbours[q]
            let own = queryIDs?[q]
            for j in 0..<rows {
                if let own, let ids, ids[j] == own { continue }
                let s = similarities[q * rows + j]
                if kept.count == k, let worst = kept.last, !(s > worst.similarity) { continue }
                let at = kept.firstIndex(where: { s > $0.similarity }) ?? kept.count
                kept.insert((s, labels[j]), at: at)
                if kept.count > k { kept.removeLast() }
            }
            neighbours[q] = kept
        }
        trainCount += rows
    }
}

/// Each row of `[rows, dimension]` divided by its L2 norm (a zero row stays zero).
func normalizedRows(_ values: [Float], _ dimension: Int) -> [Float] {
    var out = values
    for start in stride(from: 0, to: values.count, by: dimension) {
        var sum: Double = 0
        for i in start..<(start + dimension) { sum += Double(values[i]) * Double(values[i]) }
        let scale = sum > 0 ? Float(1 / sum.squareRoot()) : 0
        for i in start..<(start + dimension) { out[i] = values[i] * scale }
    }
    return out
}

/// The weighted k-NN vote of the DINO evaluation protocol (Caron et al., "Emerging Properties in
/// Self-Supervised Vision Transformers", ICCV 2021; Wu et al. 2018): neighbour `j` with cosine similarity `sⱼ`
/// adds `exp(sⱼ / T)` to its class's score (T = 0.07), and the classes ranked by score (ties: the lower class
/// index) give top-1 and top-5 accuracy. With `temperature` nil every neighbour adds 1: the plain majority vote.
public enum KNNVote {
    /// The classes ranked best first for each query's neighbours.
    public static func rank(_ neighbours: [[(similarity: Float, label: Int)]], classes: Int,
                            temperature: Double? = 0.07) -> [[Int]] {
        neighbours.map { list in
            var scores = [Double](repeating: 0, count: classes)
            for (s, label) in list where (0..<classes).contains(label) {
                scores[label] += temperature.map { Foundation.exp(Double(s) / $0) } ?? 1
            }
            return (0..<classes).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        }
    }

    /// The fraction of queries whose label is among the first `top` ranked classes.
    public static func accuracy(_ ranked: [[Int]], labels: [Int], top: Int) -> Double {
        guard !labels.isEmpty else { return .nan }
        let hits = zip(ranked, labels).filter { $0.0.prefix(top).contains($0.1) }.count
        return Double(hits) / Double(labels.count)
    }
}
