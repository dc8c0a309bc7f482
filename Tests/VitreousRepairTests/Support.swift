import Foundation
import VitreousDemo
import VitreousModel
@testable import VitreousRepair
import VitreousTensor

/// Synthetic norm maps and token grids with known truth, shaped after the planted fixture of
/// RegisterRepair.md, "The planted-artifact model": a 16×16 grid, foreground norms ≈ 30 (max ≤ 45), content-free background ≈ 5
/// before the artifact forms, planted artifacts ≈ 239…263 from block 2 on.
enum Synthetic {
    static let grid = try! PatchGrid(height: 16, width: 16)  // constant sizes: cannot throw
    static let dimension = 64

    /// Row-major patch indices of a layout's background (= planted) cells.
    static func cells(_ layout: PlantedArtifacts.Layout) -> [Int] {
        layout.backgroundCells.map { $0.row * 16 + $0.column }.sorted()
    }

    /// The planted norm at layers 2…5.
    static func plantedNorm(layer: Int) -> Float { [239, 247, 255, 263][layer - 2] }

    /// Patch norms of one layer: foreground 30 + N(0, 3²) clipped to 20…45; the layout's cells ≈ 5 at
    /// layers 0–1 and ≈ the planted norm (±1 %) from layer 2 on.
    static func norms(_ layout: PlantedArtifacts.Layout, layer: Int, seed: UInt64 = 1) -> [Float] {
        var generator = SplitMix64(seed: seed &+ UInt64(layer) &* 7919)
        var norms = generator.normal(grid.count, mean: 30, std: 3).map { min(max($0, 20), 45) }
        let jitter = generator.normal(grid.count, std: 1)
        for cell in cells(layout) {
            norms[cell] = layer < 2 ? 5 + 0.2 * jitter[cell] : plantedNorm(layer: layer) * (1 + 0.01 * jitter[cell])
        }
        return norms
    }

    /// Patch tokens `[256, 64]`: foreground random Gaussian vectors of norm ≈ 30; the layout's cells
    /// `norm·u` plus a small random part (|cos with u| ≈ 0.999).
    static func tokens(_ layout: PlantedArtifacts.Layout, plantedNorm: Float = 250, seed: UInt64 = 2) -> [Float] {
        var generator = SplitMix64(seed: seed)
        var tokens = generator.normal(grid.count * dimension, std: 30 / 8)
        let u = PlantedArtifacts.directions.u
        for cell in cells(layout) {
            for i in 0..<dimension {
                tokens[cell * dimension + i] = plantedNorm * u[i] + 0.1 * tokens[cell * dimension + i]
            }
        }
        return tokens
    }

    static func token(_ tokens: [Float], _ index: Int) -> [Float] {
        Array(tokens[(index * dimension)..<((index + 1) * dimension)])
    }

    static func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        return dot / (Double(norm(a)) * Double(norm(b)))
    }
}

/// The text of the error `body` throws, or "" when it throws none.
func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return ""
    } catch {
        return "\(error)"
    }
}
