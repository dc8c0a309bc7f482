import Foundation

/// Nearest-class-centre (NCC) classification of one layer's features, the measure of semantic clustering
/// of Ben-Shaul et al. ("Reverse Engineering Self-Supervised Learning", NeurIPS 2023): each class's centre
/// is the mean of its training features, `μ_c = (1/n_c) Σ_{yᵢ=c} xᵢ`, and a feature is assigned to the class
/// whose centre is nearest in Euclidean distance, `argmin_c ‖x − μ_c‖` (ties: the lower class index).
/// Accumulate the centres with ``add(_:labels:)``, then classify with ``predict(_:rows:)``.
public struct NearestClassCentre: Sendable {
    /// Number of classes.
    public let classes: Int
    /// Channels per feature.
    public let dimension: Int
    private var sums: [Double]
    /// Training images per class.
    public private(set) var counts: [Int]

    /// Empty centres for `classes` classes of `dimension`-channel features.
    public init(classes: Int, dimension: Int) throws {
        guard classes > 0, dimension > 0 else {
            throw AnalysisError.invalidArgument("NCC: \(classes) classes of dimension \(dimension)")
        }
        self.classes = classes
        self.dimension = dimension
        sums = Array(repeating: 0, count: classes * dimension)
        counts = Array(repeating: 0, count: classes)
    }

    /// Adds training features `[labels.count, dimension]` with their class indices.
    public mutating func add(_ features: [Float], labels: [Int]) throws {
        try requireCount(features, labels.count * dimension, "NCC features [\(labels.count), \(dimension)]")
        for (row, label) in labels.enumerated() {
            guard (0..<classes).contains(label) else {
                throw AnalysisError.invalidArgument("NCC: label \(label) is outside 0..<\(classes)")
            }
            counts[label] += 1
            for c in 0..<dimension { sums[label * dimension + c] += Double(features[row * dimension + c]) }
        }
    }

    /// The class centres `[classes, dimension]`; a class without training images has none (NaN row).
    public var centres: [Double] {
        (0..<(classes * dimension)).map { counts[$0 / dimension] > 0 ? sums[$0] / Double(counts[$0 / dimension]) : .nan }
    }

    /// The nearest centre's class for each of `rows` features `[rows, dimension]`.
    public func predict(_ features: [Float], rows: Int) throws -> [Int] {
        try requireCount(features, rows * dimension, "NCC query features [\(rows), \(dimension)]")
        let centres = self.centres
        return (0..<rows).map { row in
            var best = -1, bestDistance = Double.infinity
            for c in 0..<classes where counts[c] > 0 {
                var distance = 0.0
                for i in 0..<dimension {
                    let delta = Double(features[row * dimension + i]) - centres[c * dimension + i]
                    distance += delta * delta
                }
                if distance < bestDistance { (best, bestDistance) = (c, distance) }
            }
            return best
        }
    }
}

/// A checkpoint holds the sums as raw float64 bytes (classes × dimension may be millions of values).
extension NearestClassCentre: Codable {
    private enum CodingKeys: String, CodingKey { case classes, dimension, sums, counts }

    /// Writes the accumulated sums and what rebuilds the rest.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(classes, forKey: .classes)
        try container.encode(dimension, forKey: .dimension)
        try container.encode(RawValues.data(sums), forKey: .sums)
        try container.encode(counts, forKey: .counts)
    }

    /// Reads what ``encode(to:)`` wrote.
    /// - Throws: ``AnalysisError/shapeMismatch(_:)`` when the sums do not fit the shape.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(classes: try container.decode(Int.self, forKey: .classes),
                      dimension: try container.decode(Int.self, forKey: .dimension))
        sums = try RawValues.doubles(try container.decode(Data.self, forKey: .sums), count: classes * dimension, "NCC sums")
        counts = try container.decode([Int].self, forKey: .counts)
        try requireCount(counts, classes, "NCC counts")
    }
}
