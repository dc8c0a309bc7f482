import CBLAS

/// The leading principal components of a set of feature vectors: the mean, the unit directions of largest
/// variance, their variances, and the range of the fitted vectors' projections (the colour scale a PCA map
/// uses, so that maps of other images projected on the same basis get the same colours).
///
/// Fitting works in double precision: the `D × D` covariance (BLAS `dsyrk`) and its largest eigenpairs
/// (LAPACK `dsyevr`, from the OpenBLAS linked for BLAS).
public struct PCABasis: Codable, Sendable, Equatable {
    /// Length of each feature vector.
    public let dimension: Int
    /// The fitted vectors' mean, `dimension` values.
    public let mean: [Float]
    /// The principal directions, largest variance first, each of unit length and signed so that its entry of
    /// largest magnitude is positive (an eigenvector's sign is otherwise arbitrary).
    public let components: [[Float]]
    /// Each component's variance (sample covariance, divisor `n − 1`).
    public let variances: [Double]
    /// The total variance (trace of the covariance), for the explained shares.
    public let totalVariance: Double
    /// Per component, the lowest and highest projection over the fitted vectors.
    public let low: [Float], high: [Float]

    /// Each component's share of the total variance.
    public var explainedVarianceRatio: [Double] { variances.map { totalVariance > 0 ? $0 / totalVariance : 0 } }

    /// Fits the first `components` principal components of `vectors` (`count × dimension`, row-major).
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when the values are not whole vectors;
    ///   ``RepairError/invalidArgument(_:)`` for fewer than two vectors, non-finite values, more components
    ///   than dimensions, or when LAPACK fails.
    public static func fit(_ vectors: [Float], dimension: Int, components: Int = 3) throws -> PCABasis {
        guard dimension > 0, vectors.count % dimension == 0 else {
            throw RepairError.shapeMismatch("\(vectors.count) values are not whole vectors of \(dimension)")
        }
        let count = vectors.count / dimension
        guard count >= 2 else { throw RepairError.invalidArgument("PCA needs at least 2 vectors, got \(count)") }
        guard (1...dimension).contains(components) else {
            throw RepairError.invalidArgument("\(components) components of \(dimension)-dimensional vectors")
        }
        guard vectors.allSatisfy(\.isFinite) else { throw RepairError.invalidArgument("PCA input holds NaN or infinity") }
        var mean = [Double](repeating: 0, count: dimension)
        for row in 0..<count {
            for j in 0..<dimension { mean[j] += Double(vectors[row * dimension + j]) }
        }
        for j in 0..<dimension { mean[j] /= Double(count) }
        var centred = [Double](repeating: 0, count: vectors.count)
        for row in 0..<count {
            for j in 0..<dimension { centred[row * dimension + j] = Double(vectors[row * dimension + j]) - mean[j] }
        }
        // Row-major upper triangle of XᵀX / (n − 1): LAPACK (column-major) reads it as the lower triangle.
        var covariance = [Double](repeating: 0, count: dimension * dimension)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(dimension), Int32(count), 1 / Double(count - 1),
                    centred, Int32(dimension), 0, &covariance, Int32(dimension))
        let total = (0..<dimension).reduce(0.0) { $0 + covariance[$1 * dimension + $1] }
        let (values, vectorsOut) = try largestEigenpairs(&covariance, size: dimension, count: components)
        var directions: [[Float]] = []
        for k in 0..<components {
            var direction = Array(vectorsOut[(k * dimension)..<((k + 1) * dimension)])
            let largest = direction.indices.max { abs(direction[$0]) < abs(direction[$1]) } ?? 0
            if direction[largest] < 0 { direction = direction.map { -$0 } }
            directions.append(direction.map(Float.init))
        }
        let partial = PCABasis(dimension: dimension, mean: mean.map(Float.init), components: directions,
                               variances: values, totalVariance: total, low: [], high: [])
        let projection = try partial.project(vectors)
        var low = [Float](repeating: .infinity, count: components), high = [Float](repeating: -.infinity, count: components)
        for row in 0..<count {
            for k in 0..<components {
                low[k] = min(low[k], projection[row * components + k])
                high[k] = max(high[k], projection[row * components + k])
            }
        }
        return PCABasis(dimension: dimension, mean: partial.mean, components: directions, variances: values,
                        totalVariance: total, low: low, high: high)
    }

    /// The projections of `vectors` (`count × dimension`) on the components: `count × components`, row-major.
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when the values are not whole vectors of ``dimension``.
    public func project(_ vectors: [Float]) throws -> [Float] {
        guard vectors.count % dimension == 0 else {
            throw RepairError.shapeMismatch("\(vectors.count) values are not whole vectors of \(dimension) (the basis')")
        }
        let count = vectors.count / dimension, k = components.count
        var out = [Float](repeating: 0, count: count * k)
        for row in 0..<count {
            let base = row * dimension
            for c in 0..<k {
                var sum = 0.0
                let direction = components[c]
                for j in 0..<dimension { sum += Double(vectors[base + j] - mean[j]) * Double(direction[j]) }
                out[row * k + c] = Float(sum)
            }
        }
        return out
    }

    /// `projection` (`count × components`) scaled per component so that ``low``…``high`` spans 0…1, clamped.
    public func scaled(_ projection: [Float]) -> [Float] {
        let k = components.count
        return projection.enumerated().map { index, value in
            let c = index % k, span = high[c] - low[c]
            return span > 0 ? min(max((value - low[c]) / span, 0), 1) : 0.5
        }
    }
}
