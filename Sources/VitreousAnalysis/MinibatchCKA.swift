import Foundation
import VitreousTensor

/// Linear CKA between every pair of layers, by the minibatch estimator of Nguyen, Raghu and Kornblith ("Do
/// Wide and Deep Networks Learn the Same Things?", ICLR 2021), so no n × n Gram matrix over all images is
/// ever formed.
///
/// CKA itself is Kornblith et al.'s ("Similarity of Neural Network Representations Revisited", ICML 2019)
/// `HSIC(K, L) / √(HSIC(K, K) · HSIC(L, L))` with linear kernels `K = XXᵀ`, `L = YYᵀ`. The minibatch form
/// averages the unbiased estimator of Song et al. (2012) over minibatches of `m ≥ 4` images,
///
/// `HSIC₁(K, L) = [tr(K̃L̃) + (1ᵀK̃1)(1ᵀL̃1) / ((m−1)(m−2)) − 2/(m−2) · 1ᵀK̃L̃1] / (m(m−3))`,
///
/// `K̃`, `L̃` being the Gram matrices with their diagonals set to zero, and reports
/// `CKA = Σ HSIC₁(Kᵢ, Lᵢ) / √(Σ HSIC₁(Kᵢ, Kᵢ) · Σ HSIC₁(Lᵢ, Lᵢ))` over the minibatches `i`. Images arrive in
/// any batches; they are grouped into minibatches of ``minibatch`` in arrival order, and a last group of
/// fewer than 4 is left out (a last group of 4 or more counts with its own size).
public struct MinibatchCKA: Sendable {
    /// Feature width of each layer (they may differ).
    public let dimensions: [Int]
    /// Images per minibatch.
    public let minibatch: Int
    /// Where the Gram matrices are computed.
    public let device: Device
    private var pending: [[Float]]
    private var pendingRows = 0
    /// Σ HSIC₁ over minibatches, `[layers, layers]`, symmetric.
    private var hsic: [Double]
    /// Minibatches counted so far.
    public private(set) var minibatches = 0

    /// - Throws: ``AnalysisError/invalidArgument(_:)`` for a minibatch under 4 or no layers.
    public init(dimensions: [Int], minibatch: Int = 256, device: Device = .cpu) throws {
        guard minibatch >= 4 else {
            throw AnalysisError.invalidArgument("CKA minibatch \(minibatch): the unbiased estimator needs at least 4 images")
        }
        guard !dimensions.isEmpty, dimensions.allSatisfy({ $0 > 0 }) else {
            throw AnalysisError.invalidArgument("CKA: layer dimensions \(dimensions) must be positive and not empty")
        }
        self.dimensions = dimensions
        self.minibatch = minibatch
        self.device = device
        pending = dimensions.map { _ in [] }
        hsic = Array(repeating: 0, count: dimensions.count * dimensions.count)
    }

    /// Layers compared.
    public var layers: Int { dimensions.count }

    /// Adds `rows` images: `features[l]` is layer `l`'s `[rows, dimensions[l]]`, row-major.
    public mutating func add(_ features: [[Float]], rows: Int) throws {
        try requireCount(features, layers, "CKA features (one array per layer)")
        for (l, values) in features.enumerated() {
            try requireCount(values, rows * dimensions[l], "CKA features of layer \(l) [\(rows), \(dimensions[l])]")
        }
        var start = 0
        while start < rows {
            let take = min(rows - start, minibatch - pendingRows)
            for l in 0..<layers {
                let d = dimensions[l]
                pending[l].append(contentsOf: features[l][(start * d)..<((start + take) * d)])
            }
            pendingRows += take
            start += take
            if pendingRows == minibatch { try flush() }
        }
    }

    /// The CKA matrix `[layers][layers]`, counting a pending last group of 4 or more images.
    /// - Throws: ``AnalysisError/insufficientData(_:)`` with fewer than 4 images in all.
    public mutating func finish() throws -> [[Double]] {
        if pendingRows >= 4 { try flush() }
        guard minibatches > 0 else {
            throw AnalysisError.insufficientData("CKA needs at least 4 images, got \(pendingRows)")
        }
        let n = layers
        return (0..<n).map { a in
            (0..<n).map { b in
                let denominator = (hsic[a * n + a] * hsic[b * n + b]).squareRoot()
                return denominator > 0 ? hsic[a * n + b] / denominator : .nan
            }
        }
    }

    /// HSIC₁ of every pair of layers over the pending images, then an empty buffer.
    private mutating func flush() throws {
        let m = pendingRows
        let grams = try (0..<layers).map { l in try Self.centredGram(pending[l], rows: m, dimension: dimensions[l], device: device) }
        for a in 0..<layers {
            for b in a..<layers {
                let value = Self.hsic1(grams[a], grams[b], m)
                hsic[a * layers + b] += value
                if a != b { hsic[b * layers + a] += value }
            }
        }
        minibatches += 1
        pending = dimensions.map { _ in [] }
        pendingRows = 0
    }

    /// `K̃ = XXᵀ` with a zero diagonal, in float64, the product computed on `device`. The features are
    /// centred over the minibatch first: HSIC₁ does not change when a constant is added to every row, but
    /// without centring a large shared mean swamps the float32 Gram and its cancellation leaves rounding
    /// noise where the true value is 0 (a layer whose CLS token is the same for every image then gets a
    /// CKA near 1 instead of NaN). Centred, identical rows become exact zeros.
    static func centredGram(_ x: [Float], rows: Int, dimension: Int, device: Device) throws -> Gram {
        var mean = [Double](repeating: 0, count: dimension)
        for i in 0..<rows { for j in 0..<dimension { mean[j] += Double(x[i * dimension + j]) } }
        for j in 0..<dimension { mean[j] /= Double(rows) }
        var centred = x
        for i in 0..<rows { for j in 0..<dimension { centred[i * dimension + j] = Float(Double(x[i * dimension + j]) - mean[j]) } }
        let features = try Tensor(centred, shape: [rows, dimension], on: device)
        let product = try linear(features, weight: features).toArray()
        var values = product.map(Double.init)
        for i in 0..<rows { values[i * rows + i] = 0 }
        var rowSums = [Double](repeating: 0, count: rows)
        for i in 0..<rows { for j in 0..<rows { rowSums[i] += values[i * rows + j] } }
        return Gram(values: values, rowSums: rowSums, total: rowSums.reduce(0, +))
    }

    /// A Gram matrix with its diagonal zeroed, its row sums `K̃1` and `1ᵀK̃1`.
    struct Gram {
        let values: [Double]
        let rowSums: [Double]
        let total: Double
    }

    /// The unbiased HSIC estimator of Song et al. (2012) over one minibatch of `m` images.
    static func hsic1(_ k: Gram, _ l: Gram, _ m: Int) -> Double {
        var trace = 0.0
        for i in 0..<(m * m) { trace += k.values[i] * l.values[i] }
        var cross = 0.0
        for i in 0..<m { cross += k.rowSums[i] * l.rowSums[i] }
        let n = Double(m)
        return (trace + k.total * l.total / ((n - 1) * (n - 2)) - 2 / (n - 2) * cross) / (n * (n - 3))
    }
}

/// A checkpoint holds the HSIC sums and the partial minibatch (raw float32 bytes); ``device`` is not stored,
/// a decoded estimator computes on the CPU.
extension MinibatchCKA: Codable {
    private enum CodingKeys: String, CodingKey { case dimensions, minibatch, pending, pendingRows, hsic, minibatches }

    /// Writes the accumulated sums and what rebuilds the rest.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(dimensions, forKey: .dimensions)
        try container.encode(minibatch, forKey: .minibatch)
        try container.encode(pending.map(RawValues.data), forKey: .pending)
        try container.encode(pendingRows, forKey: .pendingRows)
        try container.encode(hsic, forKey: .hsic)
        try container.encode(minibatches, forKey: .minibatches)
    }

    /// Reads what ``encode(to:)`` wrote.
    /// - Throws: ``AnalysisError/shapeMismatch(_:)`` when the sums do not fit the shape.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(dimensions: try container.decode([Int].self, forKey: .dimensions),
                      minibatch: try container.decode(Int.self, forKey: .minibatch))
        pendingRows = try container.decode(Int.self, forKey: .pendingRows)
        let buffers = try container.decode([Data].self, forKey: .pending)
        try requireCount(buffers, layers, "CKA pending buffers")
        pending = try zip(buffers, dimensions).map { try RawValues.floats($0, count: pendingRows * $1, "CKA pending features") }
        hsic = try container.decode([Double].self, forKey: .hsic)
        try requireCount(hsic, layers * layers, "CKA sums")
        minibatches = try container.decode(Int.self, forKey: .minibatches)
    }
}
