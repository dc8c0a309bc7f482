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
        return weights(mode, input: input, output: output).dense()
    }

    /// The 1-D weights of `mode`, from the resampling shared with image resizing.
    static func weights(_ mode: PositionInterpolation, input: Int, output: Int) -> ResampleWeights {
        switch mode {
        case .bicubic:
            return ResampleWeights(input: input, output: output, filter: .bicubic)
        case .dinov2Original:
            // PyTorch receives the scale factor (g + 0.1)/M and maps coordinates by its reciprocal.
            return ResampleWeights(input: input, output: output, filter: .bicubic,
                                   scale: Double(input) / (Double(output) + 0.1))
        case .bicubicAntialiased:
            return ResampleWeights(input: input, output: output, filter: .bicubicAntialiased)
        }
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
        // The grid starts after the CLS row, which is never resampled.
        let grid = try ResampleWeights.resize(Array(table[d...]), height: m, width: m, channels: d,
                                              rows: weights(mode, input: m, output: gridHeight),
                                              columns: weights(mode, input: m, output: gridWidth))
        return Array(table[0..<d]) + grid
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
    /// needed; see ``PositionEmbedding/needsResampling(storedGrid:gridHeight:gridWidth:)``). All zeros for
    /// DINOv3, which adds no position table (its rotary embedding acts inside attention).
    public func positionEmbedding(gridHeight: Int, gridWidth: Int) throws -> [Float] {
        guard let positionEmbedding else {
            return [Float](repeating: 0, count: (1 + gridHeight * gridWidth) * config.hiddenSize)
        }
        return try PositionEmbedding.resample(positionEmbedding, dimension: config.hiddenSize,
                                       storedGrid: config.positionGrid, gridHeight: gridHeight,
                                       gridWidth: gridWidth, mode: config.interpolation)
    }
}

extension ViTParameters where Value == Tensor {
    /// The position table for a `gridHeight × gridWidth` patch grid as a tensor `[1 + gridHeight·gridWidth, D]`
    /// on the weights' device: the stored tensor itself when no resampling is needed, else resampled on the
    /// host (a few hundred kilobytes at most) and uploaded. Callers that run many images of one size should
    /// keep the result. All zeros for DINOv3, which adds no position table.
    public func positionEmbedding(gridHeight: Int, gridWidth: Int) throws -> Tensor {
        let shape = [1 + gridHeight * gridWidth, config.hiddenSize]
        guard let positionEmbedding else {
            return try Tensor([Float](repeating: 0, count: shape[0] * shape[1]), shape: shape, on: device)
        }
        let grid = config.positionGrid
        if !PositionEmbedding.needsResampling(storedGrid: grid, gridHeight: gridHeight, gridWidth: gridWidth) {
            return positionEmbedding
        }
        let table = try PositionEmbedding.resample(try positionEmbedding.toArray(), dimension: config.hiddenSize,
                                                   storedGrid: grid, gridHeight: gridHeight, gridWidth: gridWidth,
                                                   mode: config.interpolation)
        return try Tensor(table, shape: shape, on: positionEmbedding.device)
    }
}
