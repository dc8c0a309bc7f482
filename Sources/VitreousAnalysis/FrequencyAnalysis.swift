import Foundation

/// The Fourier analysis of patch-feature maps of Park et al. ("What Do Self-Supervised Vision Transformers
/// Learn?", ICLR 2023, fig. 6): contrastive models act as low-pass filters, masked-image models as high-pass.
///
/// For each image and channel `c` of a `gh × gw` patch-feature map `f`, the 2-D DFT
/// `F(u, v) = Σ_y Σ_x f(y, x) e^{−2πi(uy/gh + vx/gw)}` is taken to a log amplitude `log(|F(u, v)| + 10⁻⁶)`,
/// averaged over channels and images. Along the half diagonal of the centred spectrum, `(u, v) = (k, k)` for
/// `k = 0 ..< min(gh − ⌊gh/2⌋, gw − ⌊gw/2⌋)` (what the reference code reads with `diag()[h/2:]` after rolling
/// by `h/2`), the **relative log amplitude** is `A(k) − A(0)`; its last value is the high-frequency measure.
public struct FrequencyAnalysis: Sendable {
    /// Patch rows of the feature maps.
    public let gridHeight: Int
    /// Patch columns of the feature maps.
    public let gridWidth: Int
    /// Channels per patch token.
    public let dimension: Int
    /// Points on the half diagonal.
    public let steps: Int
    private var logAmplitudeSum: [Double]
    /// Feature maps accumulated so far.
    public private(set) var images = 0
    /// `cos` and `sin` of `2π·k·y/gh` and `2π·k·x/gw`, `[steps, side]`.
    private let rows: (cos: [Double], sin: [Double])
    private let columns: (cos: [Double], sin: [Double])

    /// - Throws: ``AnalysisError/invalidArgument(_:)`` for an empty grid or dimension.
    public init(gridHeight: Int, gridWidth: Int, dimension: Int) throws {
        guard gridHeight > 0, gridWidth > 0, dimension > 0 else {
            throw AnalysisError.invalidArgument("frequency analysis: grid \(gridHeight)×\(gridWidth), dimension \(dimension)")
        }
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.dimension = dimension
        steps = min(gridHeight - gridHeight / 2, gridWidth - gridWidth / 2)
        logAmplitudeSum = Array(repeating: 0, count: steps)
        func twiddles(_ side: Int, _ steps: Int) -> (cos: [Double], sin: [Double]) {
            let angles = (0..<(steps * side)).map { 2 * Double.pi * Double(($0 / side) * ($0 % side) % side) / Double(side) }
            return (angles.map { Foundation.cos($0) }, angles.map { Foundation.sin($0) })
        }
        rows = twiddles(gridHeight, steps)
        columns = twiddles(gridWidth, steps)
    }

    /// Adds `batch` patch-feature maps `[batch, gh, gw, dimension]` (row = y), as
    /// ``VitreousModel/EncoderOutput/patches`` lays them out.
    public mutating func add(_ patches: [Float], batch: Int) throws {
        let (gh, gw, d) = (gridHeight, gridWidth, dimension)
        try requireCount(patches, batch * gh * gw * d, "patch features [\(batch), \(gh), \(gw), \(d)]")
        // Per image: the row transform at the diagonal's column frequencies, then the column transform.
        var partialRe = [Double](repeating: 0, count: steps * gh * d)
        var partialIm = partialRe
        for b in 0..<batch {
            for i in partialRe.indices { partialRe[i] = 0; partialIm[i] = 0 }
            for y in 0..<gh {
                for x in 0..<gw {
                    let source = ((b * gh + y) * gw + x) * d
                    for k in 0..<steps {
                        let (c, s) = (columns.cos[k * gw + x], columns.sin[k * gw + x])
                        let target = (k * gh + y) * d
                        for channel in 0..<d {
                            let value = Double(patches[source + channel])
                            partialRe[target + channel] += value * c
                            partialIm[target + channel] -= value * s
                        }
                    }
                }
            }
            for k in 0..<steps {
                var sum = 0.0
                for channel in 0..<d {
                    var re = 0.0, im = 0.0
                    for y in 0..<gh {
                        let (c, s) = (rows.cos[k * gh + y], rows.sin[k * gh + y])
                        let (pr, pi) = (partialRe[(k * gh + y) * d + channel], partialIm[(k * gh + y) * d + channel])
                        // (pr + i·pi)(c − i·s)
                        re += pr * c + pi * s
                        im += pi * c - pr * s
                    }
                    sum += Foundation.log((re * re + im * im).squareRoot() + 1e-6)
                }
                logAmplitudeSum[k] += sum / Double(d)
            }
        }
        images += batch
    }

    /// `A(k) − A(0)` along the half diagonal (the first value is 0).
    public var relativeLogAmplitude: [Double] {
        let mean = logAmplitudeSum.map { $0 / Double(max(images, 1)) }
        return mean.map { $0 - mean[0] }
    }

    /// The relative log amplitude at the highest frequency on the half diagonal.
    public var highFrequency: Double { relativeLogAmplitude.last ?? 0 }
}

/// A checkpoint holds the sums and the shape; the twiddle tables are rebuilt.
extension FrequencyAnalysis: Codable {
    private enum CodingKeys: String, CodingKey { case gridHeight, gridWidth, dimension, logAmplitudeSum, images }

    /// Writes the accumulated sums and what rebuilds the rest.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(gridHeight, forKey: .gridHeight)
        try container.encode(gridWidth, forKey: .gridWidth)
        try container.encode(dimension, forKey: .dimension)
        try container.encode(logAmplitudeSum, forKey: .logAmplitudeSum)
        try container.encode(images, forKey: .images)
    }

    /// Reads what ``encode(to:)`` wrote.
    /// - Throws: ``AnalysisError/shapeMismatch(_:)`` when the sums do not fit the shape.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(gridHeight: try container.decode(Int.self, forKey: .gridHeight),
                      gridWidth: try container.decode(Int.self, forKey: .gridWidth),
                      dimension: try container.decode(Int.self, forKey: .dimension))
        logAmplitudeSum = try container.decode([Double].self, forKey: .logAmplitudeSum)
        try requireCount(logAmplitudeSum, steps, "frequency sums")
        images = try container.decode(Int.self, forKey: .images)
    }
}
