/// 1-D resampling weights, shared by image resizing and position-embedding interpolation. Applied
/// separably (rows, then columns) they reproduce PyTorch's `interpolate` and PIL's `resize`.
public struct ResampleWeights: Sendable, Equatable {
    /// The kernels Vitreous resamples with.
    public enum Filter: String, Sendable, CaseIterable, Codable {
        /// Keys cubic with a = −0.75, four taps clamped at the edges, no low-pass filter when shrinking:
        /// PyTorch `interpolate(mode="bicubic", align_corners=False, antialias=False)`.
        case bicubic
        /// Keys cubic with a = −0.5, support widened by the scale when shrinking, weights normalised,
        /// out-of-range taps dropped: PyTorch `antialias=True` bicubic and PIL's `BICUBIC` resize.
        case bicubicAntialiased
        /// Triangle filter with the same antialiasing rules: PyTorch `antialias=True` bilinear and PIL's
        /// `BILINEAR` resize.
        case bilinearAntialiased
    }

    /// Length of the axis resampled from.
    public let input: Int
    /// Length of the axis resampled to.
    public let output: Int
    /// For each output index, the (input index, weight) pairs that make it.
    public let taps: [[(index: Int, weight: Double)]]

    public static func == (lhs: ResampleWeights, rhs: ResampleWeights) -> Bool {
        lhs.input == rhs.input && lhs.output == rhs.output && lhs.dense() == rhs.dense()
    }

    /// Weights that resample `input` samples to `output` samples.
    /// - Parameter scale: input units per output unit; `input / output` by default. PyTorch uses
    ///   `1 / scale_factor` here when called with a scale factor instead of a size, which is how the
    ///   original DINOv2 code (`scale_factor = (g + 0.1) / M`) differs from resizing to a size.
    public init(input: Int, output: Int, filter: Filter, scale: Double? = nil) {
        self.input = input
        self.output = output
        let s = scale ?? Double(input) / Double(max(output, 1))
        switch filter {
        case .bicubic:
            taps = (0..<output).map { i in Self.clampedCubicTaps(index: i, scale: s, input: input) }
        case .bicubicAntialiased:
            taps = (0..<output).map { i in
                Self.antialiasedTaps(index: i, scale: s, input: input, support: 2) { Self.keys($0, a: -0.5) }
            }
        case .bilinearAntialiased:
            taps = (0..<output).map { i in
                Self.antialiasedTaps(index: i, scale: s, input: input, support: 1) { max(0, 1 - abs($0)) }
            }
        }
    }

    /// The weights as a dense `output × input` matrix, row-major.
    public func dense() -> [Double] {
        var matrix = [Double](repeating: 0, count: output * input)
        for (row, list) in taps.enumerated() {
            for tap in list { matrix[row * input + tap.index] += tap.weight }
        }
        return matrix
    }

    /// Keys' cubic convolution kernel.
    static func keys(_ x: Double, a: Double) -> Double {
        let t = abs(x)
        if t <= 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
        if t < 2 { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }
        return 0
    }

    private static func clampedCubicTaps(index: Int, scale: Double, input: Int) -> [(index: Int, weight: Double)] {
        let source = scale * (Double(index) + 0.5) - 0.5
        let base = Int(source.rounded(.down))
        let t = source - Double(base)
        let weights = [keys(t + 1, a: -0.75), keys(t, a: -0.75), keys(1 - t, a: -0.75), keys(2 - t, a: -0.75)]
        return weights.enumerated().map { offset, weight in
            (index: min(max(base - 1 + offset, 0), input - 1), weight: weight)
        }
    }

    private static func antialiasedTaps(index: Int, scale: Double, input: Int, support: Double,
                                        kernel: (Double) -> Double) -> [(index: Int, weight: Double)] {
        let stretch = max(scale, 1)
        let center = scale * (Double(index) + 0.5)
        let reach = support * stretch
        let first = max(Int(center - reach + 0.5), 0)
        let last = min(Int(center + reach + 0.5), input)
        var taps = (first..<max(first, last)).map { j in
            (index: j, weight: kernel((Double(j) - center + 0.5) / stretch))
        }
        let total = taps.reduce(0) { $0 + $1.weight }
        if total != 0 { taps = taps.map { ($0.index, $0.weight / total) } }
        return taps
    }

    /// Resizes an image-like array `[height, width, channels]` (row-major, channels innermost) to
    /// `[rows.output, columns.output, channels]`: along the width first, then the height, in float32
    /// with one accumulation per pass, as PyTorch's separable resampling does.
    public static func resize(_ values: [Float], height: Int, width: Int, channels: Int,
                              rows: ResampleWeights, columns: ResampleWeights) throws -> [Float] {
        guard rows.input == height, columns.input == width, values.count == height * width * channels else {
            throw VitreousError.shapeMismatch("resize: weights for \(rows.input)×\(columns.input) applied to "
                + "\(height)×\(width)×\(channels) (\(values.count) values)")
        }
        let newWidth = columns.output, newHeight = rows.output
        var across = [Float](repeating: 0, count: height * newWidth * channels)
        for y in 0..<height {
            for (x, list) in columns.taps.enumerated() {
                let out = (y * newWidth + x) * channels
                for tap in list {
                    let weight = Float(tap.weight), source = (y * width + tap.index) * channels
                    for c in 0..<channels { across[out + c] += weight * values[source + c] }
                }
            }
        }
        var result = [Float](repeating: 0, count: newHeight * newWidth * channels)
        for (y, list) in rows.taps.enumerated() {
            for tap in list {
                let weight = Float(tap.weight)
                for x in 0..<newWidth {
                    let out = (y * newWidth + x) * channels, source = (tap.index * newWidth + x) * channels
                    for c in 0..<channels { result[out + c] += weight * across[source + c] }
                }
            }
        }
        return result
    }
}
