import CBLAS
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
    /// `[2·steps, gh·gw]`: row `k` holds `cos θ`, row `steps + k` holds `−sin θ`, `θ = 2πk(y/gh + x/gw)` at
    /// patch `(y, x)`, so one product with a feature map gives `F(k, k)` for every channel.
    private let twiddles: [Double]

    /// - Throws: ``AnalysisError/invalidArgument(_:)`` for an empty grid or dimension.
    public init(gridHeight: Int, gridWidth: Int, dimension: Int) throws {
        guard gridHeight > 0, gridWidth > 0, dimension > 0 else {
            throw AnalysisError.invalidArgument("frequency analysis: grid \(gridHeight)×\(gridWidth), dimension \(dimension)")
        }
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.dimension = dimension
        let steps = min(gridHeight - gridHeight / 2, gridWidth - gridWidth / 2)
        self.steps = steps
        logAmplitudeSum = Array(repeating: 0, count: steps)
        let n = gridHeight * gridWidth
        var table = [Double](repeating: 0, count: 2 * steps * n)
        for k in 0..<steps {
            for y in 0..<gridHeight {
                for x in 0..<gridWidth {
                    // Reduced modulo the side first, so the angle stays exact for large k.
                    let turns = Double((k * y) % gridHeight) / Double(gridHeight) + Double((k * x) % gridWidth) / Double(gridWidth)
                    table[k * n + y * gridWidth + x] = Foundation.cos(2 * Double.pi * turns)
                    table[(steps + k) * n + y * gridWidth + x] = -Foundation.sin(2 * Double.pi * turns)
                }
            }
        }
        twiddles = table
    }

    /// Adds `batch` patch-feature maps `[batch, gh, gw, dimension]` (row = y), as
    /// ``VitreousModel/EncoderOutput/patches`` lays them out.
    public mutating func add(_ patches: [Float], batch: Int) throws {
        let (n, d, s) = (gridHeight * gridWidth, dimension, steps)
        try requireCount(patches, batch * n * d, "patch features [\(batch), \(gridHeight), \(gridWidth), \(d)]")
        // Only the diagonal (k, k) is read, so the 2-D DFT collapses to one float64 GEMM per image:
        // [2·steps, n] twiddles times the [n, d] map.
        var map = [Double](repeating: 0, count: n * d)
        var spectrum = [Double](repeating: 0, count: 2 * s * d)
        for b in 0..<batch {
            for i in 0..<(n * d) { map[i] = Double(patches[b * n * d + i]) }
            twiddles.withUnsafeBufferPointer { w in
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(2 * s), Int32(d), Int32(n), 1,
                            w.baseAddress, Int32(n), map, Int32(d), 0, &spectrum, Int32(d))
            }
            for k in 0..<s {
                var sum = 0.0
                for channel in 0..<d {
                    let (re, im) = (spectrum[k * d + channel], spectrum[(s + k) * d + channel])
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

/// A checkpoint holds the sums and the shape; the twiddle table is rebuilt.
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
