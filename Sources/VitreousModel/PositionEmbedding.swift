import Foundation
import VitreousTensor

/// Resampling of the stored position-embedding grid to an image's patch grid, exactly as PyTorch's
/// `interpolate(mode="bicubic", align_corners=False)` does it for each DINOv2 family
/// (see ``PositionInterpolation``).
///
/// The resampling is separable: a 1-D matrix per axis, `Y[a, b] = Σ_ij W_h[a, i] · X[i, j] · W_w[b, j]` for
/// the stored M×M grid X. The matrices are built in float64; the table is resampled in float32 as PyTorch
/// does (width first, then height), so the result matches PyTorch's to float32 rounding.
public enum PositionEmbedding {
    /// Whether a `gridHeight × gridWidth` patch grid needs the table resampled. PyTorch's rule (Hugging Face
    /// and the original code alike): the table is used unchanged only when the patch count equals the stored
    /// grid's **and** the image is square. With sides that are multiples of the patch size, "square" is
    /// `gridHeight == gridWidth`, so this is true unless both equal `storedGrid`.
    public static func needsResampling(storedGrid: Int, gridHeight: Int, gridWidth: Int) -> Bool {
        !(gridHeight * gridWidth == storedGrid * storedGrid && gridHeight == gridWidth)
    }

    /// The 1-D resampling matrix from `input` to `output` positions, `[output][input]` row-major (float64).
    /// Row `i` holds the weights output `i` takes from each input position.
    /// - Throws: ``ModelError/invalidArgument(_:)`` when a size is not positive.
    public static func resamplingMatrix(_ mode: PositionInterpolation, input: Int, output: Int) throws -> [Double] {
        guard input > 0, output > 0 else {
            throw ModelError.invalidArgument("cannot resample \(input) positions to \(output)")
        }
        var matrix = [Double](repeating: 0, count: output * input)
        switch mode {
        case .bicubic:
            cubicRows(&matrix, input: input, output: output, scale: Double(input) / Double(output))
        case .dinov2Original:
            // PyTorch receives the scale factor (g + 0.1)/M and maps coordinates by its reciprocal.
            let factor = (Double(output) + 0.1) / Double(input)
            cubicRows(&matrix, input: input, output: output, scale: 1.0 / factor)
        case .bicubicAntialiased:
            antialiasedRows(&matrix, input: input, output: output)
        }
        return matrix
    }

    /// The position table for a `gridHeight × gridWidth` patch grid: `[1 + gridHeight·gridWidth, D]` row-major,
    /// row 0 the CLS row (never resampled), then the grid row-major (row = y).
    /// - Parameters:
    ///   - table: the stored table `[1 + storedGrid², dimension]`.
    /// - Throws: ``ModelError/invalidArgument(_:)`` when the table does not have that size or a grid side is
    ///   not positive.
    public static func resample(_ table: [Float], dimension: Int, storedGrid: Int, gridHeight: Int,
                                gridWidth: Int, mode: PositionInterpolation) throws -> [Float] {
        guard dimension > 0, storedGrid > 0, gridHeight > 0, gridWidth > 0 else {
            throw ModelError.invalidArgument("cannot resample a \(storedGrid)×\(storedGrid) position grid of width "
                + "\(dimension) to \(gridHeight)×\(gridWidth)")
        }
        guard table.count == (1 + storedGrid * storedGrid) * dimension else {
            throw ModelError.invalidArgument("a position table of \(table.count) values is not "
                + "[1 + \(storedGrid)², \(dimension)]")
        }
        if !needsResampling(storedGrid: storedGrid, gridHeight: gridHeight, gridWidth: gridWidth) { return table }

        let m = storedGrid, d = dimension
        let rowTaps = taps(try resamplingMatrix(mode, input: m, output: gridHeight), input: m)
        let columnTaps = taps(try resamplingMatrix(mode, input: m, output: gridWidth), input: m)
        // Width pass: [m, gridWidth, d] from the stored [m, m, d] grid (which starts after the CLS row).
        var across = [Float](repeating: 0, count: m * gridWidth * d)
        for y in 0..<m {
            for (x, weights) in columnTaps.enumerated() {
                let out = (y * gridWidth + x) * d
                for (source, weight) in weights {
                    let from = (1 + y * m + source) * d
                    for c in 0..<d { across[out + c] += weight * table[from + c] }
                }
            }
        }
        // Height pass into the result, after the CLS row copied unchanged.
        var result = Array(table[0..<d]) + [Float](repeating: 0, count: gridHeight * gridWidth * d)
        for (y, weights) in rowTaps.enumerated() {
            for x in 0..<gridWidth {
                let out = (1 + y * gridWidth + x) * d
                for (source, weight) in weights {
                    let from = (source * gridWidth + x) * d
                    for c in 0..<d { result[out + c] += weight * across[from + c] }
                }
            }
        }
        return result
    }

    /// Keys' cubic convolution kernel with parameter `a`.
    static func cubic(_ x: Double, a: Double) -> Double {
        let x = abs(x)
        if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return 0
    }

    /// PyTorch's bicubic without antialiasing: four taps around `src = scale·(i + 0.5) − 0.5`, Keys a = −0.75,
    /// indices clamped into the grid (edge replication), no low-pass filter even when shrinking.
    private static func cubicRows(_ matrix: inout [Double], input: Int, output: Int, scale: Double) {
        for i in 0..<output {
            let source = scale * (Double(i) + 0.5) - 0.5
            let floor = source.rounded(.down)
            let t = source - floor
            for k in 0..<4 {
                let index = min(max(Int(floor) - 1 + k, 0), input - 1)
                matrix[i * input + index] += cubic(t - Double(k - 1), a: -0.75)
            }
        }
    }

    /// PyTorch's antialiased bicubic: Keys a = −0.5 stretched by max(scale, 1), taps within
    /// `center ± support` (support = 2·max(scale, 1)), out-of-grid taps dropped, weights normalised per row.
    private static func antialiasedRows(_ matrix: inout [Double], input: Int, output: Int) {
        let scale = Double(input) / Double(output)
        let stretch = max(scale, 1)
        let support = 2 * stretch
        for i in 0..<output {
            let center = scale * (Double(i) + 0.5)
            // Int(_:) truncates toward zero, as the C++ int64_t conversion does.
            let first = max(Int(center - support + 0.5), 0)
            let end = min(Int(center + support + 0.5), input)
            guard first < end else { continue }
            var total = 0.0
            for j in first..<end {
                let weight = cubic((Double(j) - center + 0.5) / stretch, a: -0.5)
                matrix[i * input + j] = weight
                total += weight
            }
            if total != 0 { for j in first..<end { matrix[i * input + j] /= total } }
        }
    }

    /// The nonzero entries of each row, as float32 weights in column order.
    private static func taps(_ matrix: [Double], input: Int) -> [[(Int, Float)]] {
        stride(from: 0, to: matrix.count, by: input).map { start in
            (0..<input).compactMap { j in matrix[start + j] == 0 ? nil : (j, Float(matrix[start + j])) }
        }
    }
}

extension ViTConfig {
    /// The patch grid of a `height × width` image.
    /// - Throws: ``ModelError/invalidArgument(_:)`` unless both sides are positive multiples of the patch size
    ///   (resize or crop other images first).
    public func patchGrid(imageHeight height: Int, imageWidth width: Int) throws -> (height: Int, width: Int) {
        guard height > 0, width > 0, height % patchSize == 0, width % patchSize == 0 else {
            throw ModelError.invalidArgument("image size \(height)×\(width) is not a multiple of the patch size "
                + "\(patchSize) on both sides; resize or crop it (e.g. to \(max(1, height / patchSize) * patchSize)×"
                + "\(max(1, width / patchSize) * patchSize))")
        }
        return (height / patchSize, width / patchSize)
    }
}

extension ViTParameters where Value == [Float] {
    /// The position table to add for a `gridHeight × gridWidth` patch grid, `[1 + gridHeight·gridWidth, D]`,
    /// resampled with the configuration's ``ViTConfig/interpolation`` (the stored table when no resampling is
    /// needed; see ``PositionEmbedding/needsResampling(storedGrid:gridHeight:gridWidth:)``).
    public func positionEmbedding(gridHeight: Int, gridWidth: Int) throws -> [Float] {
        try PositionEmbedding.resample(positionEmbedding, dimension: config.hiddenSize,
                                       storedGrid: config.positionGrid, gridHeight: gridHeight,
                                       gridWidth: gridWidth, mode: config.interpolation)
    }
}

extension ViTParameters where Value == Tensor {
    /// The position table for a `gridHeight × gridWidth` patch grid as a tensor `[1 + gridHeight·gridWidth, D]`
    /// on the weights' device: the stored tensor itself when no resampling is needed, else resampled on the
    /// host (a few hundred kilobytes at most) and uploaded. Callers that run many images of one size should
    /// keep the result.
    public func positionEmbedding(gridHeight: Int, gridWidth: Int) throws -> Tensor {
        let grid = config.positionGrid
        if !PositionEmbedding.needsResampling(storedGrid: grid, gridHeight: gridHeight, gridWidth: gridWidth) {
            return positionEmbedding
        }
        let table = try PositionEmbedding.resample(try positionEmbedding.toArray(), dimension: config.hiddenSize,
                                                   storedGrid: grid, gridHeight: gridHeight, gridWidth: gridWidth,
                                                   mode: config.interpolation)
        return try Tensor(table, shape: [1 + gridHeight * gridWidth, config.hiddenSize], on: positionEmbedding.device)
    }
}
