import Foundation
import VitreousTensor

/// DINOv3's axial 2-D rotary embedding for one patch grid: the cos and sin of every patch's angles, computed
/// in float32 step by step as transformers' `DINOv3ViTRopePositionEmbedding` does, so the rotation matches it to
/// float32 rounding.
///
/// Patch `(row, column)` of a `gh × gw` grid has centre `y = 2·(row + ½)/gh − 1`, `x = 2·(column + ½)/gw − 1`
/// (each axis normalised to [−1, 1] on its own); with `n = headDim/4` inverse frequencies
/// `ω_f = 1/θ^(4f/headDim)`, its angles are `2π·y·ω_f` for `f < n`, then `2π·x·ω_f`: `headDim/2` values, which
/// the head's two halves share (``rotaryEmbedding(qkv:heads:cos:sin:tokens:)``).
public struct RotaryTables: Sendable {
    /// `[gh·gw, headDim/2]` row-major, patches row-major (row = y).
    public let cos: [Float]
    /// Shaped as ``cos``.
    public let sin: [Float]

    /// The tables of a `gridHeight × gridWidth` grid for heads of `headDimension` (a multiple of 4) and base `theta`.
    public init(gridHeight: Int, gridWidth: Int, headDimension: Int, theta: Float) {
        let quarter = headDimension / 4, half = 2 * quarter
        // torch.arange(0, 1, 4/headDim) in float32, then 1 / θ ** it.
        let inverse = (0..<quarter).map { 1 / powf(theta, Float(Double($0) * (4 / Double(headDimension)))) }
        func coordinate(_ index: Int, _ count: Int) -> Float { 2 * ((Float(index) + 0.5) / Float(count)) - 1 }
        let twoPi = Float(2 * Double.pi)
        var cos = [Float](repeating: 0, count: gridHeight * gridWidth * half), sin = cos
        for row in 0..<gridHeight {
            for column in 0..<gridWidth {
                let base = (row * gridWidth + column) * half
                for (axis, value) in [coordinate(row, gridHeight), coordinate(column, gridWidth)].enumerated() {
                    for f in 0..<quarter {
                        let angle = twoPi * value * inverse[f]
                        cos[base + axis * quarter + f] = Foundation.cos(angle)
                        sin[base + axis * quarter + f] = Foundation.sin(angle)
                    }
                }
            }
        }
        self.cos = cos
        self.sin = sin
    }

    /// The angles in float64 from the same formula: what the float64 reference rotates by.
    public static func angles(gridHeight: Int, gridWidth: Int, headDimension: Int, theta: Double) -> [Double] {
        let quarter = headDimension / 4
        var angles: [Double] = []
        angles.reserveCapacity(gridHeight * gridWidth * 2 * quarter)
        for row in 0..<gridHeight {
            for column in 0..<gridWidth {
                for value in [2 * (Double(row) + 0.5) / Double(gridHeight) - 1,
                              2 * (Double(column) + 0.5) / Double(gridWidth) - 1] {
                    for f in 0..<quarter {
                        angles.append(2 * Double.pi * value / pow(theta, 4 * Double(f) / Double(headDimension)))
                    }
                }
            }
        }
        return angles
    }
}
