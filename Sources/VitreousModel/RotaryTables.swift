import Foundation
import VitreousTensor

/// DINOv3's axial 2-D rotary embedding for one patch grid: the cos and sin of every patch's angles, computed
/// in float32 step by step as transformers' `DINOv3ViTRopePositionEmbedding` does, so the rotation matches it to
/// float32 rounding.
///
/// Patch `(row, column)` of a `gh × gw` grid has centre `y = 2·(row + ½)/gh − 1`, `x = 2·(column + ½)/gw − 1`
/// (each axis normalised to [−1, 1] on its own); with `n = headDim/4` inverse frequencies
/// `ω_f = 1/θ^(4f/headDim)` (or `1/period_f` for periods a checkpoint stores), its angles are `2π·y·ω_f` for `f < n`, then `2π·x·ω_f`: `headDim/2` values, which
/// the head's two halves share (``rotaryEmbedding(qkv:heads:cos:sin:tokens:)``).
public struct RotaryTables: Sendable {
    /// `[gh·gw, headDim/2]` row-major, patches row-major (row = y).
    public let cos: [Float]
    /// Shaped as ``cos``.
    public let sin: [Float]

    /// The tables of a `gridHeight × gridWidth` grid for heads of `headDimension` (a multiple of 4) and base `theta`.
    public init(gridHeight: Int, gridWidth: Int, headDimension: Int, theta: Float) {
        // torch.arange(0, 1, 4/headDim) in float32, then 1 / θ ** it, as transformers computes them.
        let inverse = (0..<(headDimension / 4)).map {
            1 / powf(theta, Float(Double($0) * (4 / Double(headDimension))))
        }
        self.init(gridHeight: gridHeight, gridWidth: gridWidth, quarter: headDimension / 4) {
            RotaryTables.twoPi * $0 * inverse[$1]
        }
    }

    /// The tables for stored periods (`headDimension/4` of them), angle `2π·y / period_f` as the original
    /// `RopePositionEmbedding` computes it from its `periods` buffer.
    public init(gridHeight: Int, gridWidth: Int, periods: [Float]) {
        self.init(gridHeight: gridHeight, gridWidth: gridWidth, quarter: periods.count) {
            RotaryTables.twoPi * $0 / periods[$1]
        }
    }

    /// The tables of `config`'s rotary embedding: its stored ``ViTConfig/ropePeriods`` when it has them, else
    /// its ``ViTConfig/ropeTheta``.
    public init(gridHeight: Int, gridWidth: Int, config: ViTConfig) {
        if let periods = config.ropePeriods {
            self.init(gridHeight: gridHeight, gridWidth: gridWidth, periods: periods)
        } else {
            self.init(gridHeight: gridHeight, gridWidth: gridWidth, headDimension: config.headDimension,
                      theta: config.ropeTheta)
        }
    }

    /// 2π rounded to nearest in float32, as PyTorch's `2 * math.pi` becomes (`Float.pi` rounds down).
    private static let twoPi = Float(2 * Double.pi)

    /// Fills the tables from `angle(coordinate, f)` for `f < quarter` per axis.
    private init(gridHeight: Int, gridWidth: Int, quarter: Int, angle: (Float, Int) -> Float) {
        let half = 2 * quarter
        func coordinate(_ index: Int, _ count: Int) -> Float { 2 * ((Float(index) + 0.5) / Float(count)) - 1 }
        var cos = [Float](repeating: 0, count: gridHeight * gridWidth * half), sin = cos
        for row in 0..<gridHeight {
            for column in 0..<gridWidth {
                let base = (row * gridWidth + column) * half
                for (axis, value) in [coordinate(row, gridHeight), coordinate(column, gridWidth)].enumerated() {
                    for f in 0..<quarter {
                        let radians = angle(value, f)
                        cos[base + axis * quarter + f] = Foundation.cos(radians)
                        sin[base + axis * quarter + f] = Foundation.sin(radians)
                    }
                }
            }
        }
        self.cos = cos
        self.sin = sin
    }

    /// The angles in float64 of `config`'s rotary embedding (stored periods or θ): what the float64 reference
    /// rotates by.
    public static func angles(gridHeight: Int, gridWidth: Int, config: ViTConfig) -> [Double] {
        let quarter = config.headDimension / 4
        let theta = Double(config.ropeTheta), exponentStep = 4 / Double(config.headDimension)
        let periods: [Double] = config.ropePeriods?.map { Double($0) }
            ?? (0..<quarter).map { (f: Int) -> Double in pow(theta, Double(f) * exponentStep) }
        var angles: [Double] = []
        angles.reserveCapacity(gridHeight * gridWidth * 2 * quarter)
        for row in 0..<gridHeight {
            for column in 0..<gridWidth {
                for value in [2 * (Double(row) + 0.5) / Double(gridHeight) - 1,
                              2 * (Double(column) + 0.5) / Double(gridWidth) - 1] {
                    for period in periods { angles.append(2 * Double.pi * value / period) }
                }
            }
        }
        return angles
    }
}
