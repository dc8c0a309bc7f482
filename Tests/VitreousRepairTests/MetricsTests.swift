import Foundation
import Testing
import VitreousDemo
import VitreousModel
@testable import VitreousRepair

@Suite("Metrics and alignment checks")
struct MetricsTests {
    let grid = Synthetic.grid
    let d = Synthetic.dimension

    @Test("norm statistics, with interpolated p99")
    func normStatistics() throws {
        let stats = try NormStatistics(norms: (1...100).map(Float.init))
        #expect(stats.max == 100 && stats.median == 50.5 && abs(stats.p99 - 99.01) < 1e-4)
        #expect(abs(stats.maxOverMedian - 100 / 50.5) < 1e-6)
        #expect(try NormStatistics(norms: [0, 0, 1]).maxOverMedian == .greatestFiniteMagnitude)
    }

    @Test("smoothness: a constant grid is perfectly smooth, artifacts make it rough")
    func smoothness() throws {
        let constant = [Float]((0..<grid.count).flatMap { _ in (0..<d).map { Float($0 % 5) + 1 } })
        let flat = try Smoothness(tokens: constant, grid: grid, dimension: d)
        #expect(abs(flat.meanCosine - 1) < 1e-6 && flat.totalVariation == 0)
        #expect(grid.neighbourPairs.count == 2 * 16 * 15)
        let line = try PatchGrid(height: 1, width: 3)
        let steps = try Smoothness(tokens: [1, 0, 0, 1, 0, 1], grid: line, dimension: 2)
        // Pairs (1,0)-(0,1): cos 0, distance √2; (0,1)-(0,1): cos 1, distance 0; mean norm 1.
        #expect(abs(steps.meanCosine - 0.5) < 1e-6 && abs(steps.totalVariation - Float(2).squareRoot() / 2) < 1e-6)
        let tokens = Synthetic.tokens(.isolated)
        let flagged = Synthetic.cells(.isolated)
        let repaired = try Inpainting.neighbourMean(tokens: tokens, grid: grid, dimension: d, flagged: flagged).tokens
        let before = try #require(try PatchMetrics.flaggedNeighbourCosine(tokens: tokens, grid: grid, dimension: d, flagged: flagged))
        let after = try #require(try PatchMetrics.flaggedNeighbourCosine(tokens: repaired, grid: grid, dimension: d, flagged: flagged))
        #expect(abs(before) < 0.1 && after > before + 0.2)
        #expect(try PatchMetrics.flaggedNeighbourCosine(tokens: tokens, grid: grid, dimension: d, flagged: []) == nil)
    }

    @Test("attention concentration: uniform, one-hot, top-1 % and artifact mass")
    func concentration() throws {
        let uniform = try AttentionConcentration(row: [Float](repeating: 0.5, count: 256), flagged: [0, 1])
        #expect(abs(uniform.entropy - 1) < 1e-6 && abs(uniform.topMass - 3 / 256) < 1e-6)
        #expect(abs(uniform.artifactMass - 2 / 256) < 1e-6)
        var spike = [Float](repeating: 0, count: 256)
        spike[9] = 0.3
        let oneHot = try AttentionConcentration(row: spike, flagged: [9])
        #expect(oneHot.entropy == 0 && oneHot.topMass == 1 && oneHot.artifactMass == 1)
    }

    @Test("register attention and patch rows from full CLS rows")
    func registerAttention() throws {
        let layout = try TokenLayout(firstPatch: 2, grid: try PatchGrid(height: 2, width: 2), testTimeRegisters: 1)
        // Two heads over CLS, 1 register, 4 patches, 1 test-time register.
        let rows: [Float] = [0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.3,
                             0.0, 0.5, 0.0, 0.1, 0.2, 0.1, 0.1]
        let mass = try RegisterAttention(rows: rows, heads: 2, layout: layout)
        #expect(mass.trained == [0.2, 0.5] && mass.testTime == [0.3, 0.1])
        #expect(abs(mass.meanTrained - 0.35) < 1e-6 && abs(mass.meanTestTime - 0.2) < 1e-6)
        #expect(try RegisterAttention.patchRows(rows, heads: 2, layout: layout) == [0.1, 0.1, 0.1, 0.1, 0.0, 0.1, 0.2, 0.1])
    }

    @Test("fidelity and a before/after comparison of inpainting, as JSON")
    func fidelityAndComparison() throws {
        let tokens = Synthetic.tokens(.isolated)
        let flagged = try ArtifactDetector.default.detect(norms: try PatchMetrics.norms(tokens: tokens, grid: grid, dimension: d)).flagged
        #expect(flagged == Synthetic.cells(.isolated))
        let repaired = try Inpainting.neighbourMean(tokens: tokens, grid: grid, dimension: d, flagged: flagged).tokens
        let cls = PlantedArtifacts.directions.c.map { 10 * $0 }
        let fidelity = try Fidelity(before: tokens, after: repaired, grid: grid, dimension: d, flagged: flagged,
                                    clsBefore: cls, clsAfter: cls)
        #expect(fidelity.medianRelativeChange == 0 && abs((fidelity.clsCosine ?? 0) - 1) < 1e-6)
        let scaled = tokens.map { $0 * 1.1 }
        let changed = try Fidelity(before: tokens, after: scaled, grid: grid, dimension: d, flagged: flagged)
        #expect(abs((changed.medianRelativeChange ?? 0) - 0.1) < 1e-5 && changed.clsCosine == nil)

        let before = try ImageMetrics(tokens: tokens, grid: grid, dimension: d, flagged: flagged, layer: 5, clsToken: cls)
        let after = try ImageMetrics(tokens: repaired, grid: grid, dimension: d, flagged: flagged, layer: 5, clsToken: cls)
        #expect(before.flaggedCount == 4 && abs(before.flaggedFraction - 4 / 256) < 1e-7)
        #expect(before.norms.maxOverMedian > 7 && after.norms.maxOverMedian < 1.6)
        let comparison = ImageMetricsComparison(repair: "neighbourMean", before: before, after: after, fidelity: fidelity)
        #expect(comparison.maxNormChange < -200 && comparison.smoothnessChange > 0)
        let data = try JSONEncoder().encode(comparison)
        #expect(try JSONDecoder().decode(ImageMetricsComparison.self, from: data) == comparison)
        #expect(errorText { _ = try ImageMetrics(tokens: tokens, grid: grid, dimension: d, flagged: [], patchAttention: [1]) }
            .contains("1 attention weights for 1 heads × 256 patches"))
    }

    @Test("alignment with u: a ≈ 1 on flagged, b small elsewhere, image direction d ≈ u; Jaccard and angles")
    func alignment() throws {
        let u = PlantedArtifacts.directions.u
        var tokens = Synthetic.tokens(.block)
        for i in 0..<d { tokens[5 * d + i] = -tokens[5 * d + i] }  // a flipped artifact still adds along u
        let flagged = Synthetic.cells(.block)
        let check = try DefectAlignment(tokens: tokens, grid: grid, dimension: d, flagged: flagged, direction: u)
        #expect((check.flaggedMeanCosine ?? 0) >= 0.99 && (check.unflaggedMeanCosine ?? 1) < 0.2)
        #expect((check.angleDegrees ?? 90) < 2)
        let none = try DefectAlignment(tokens: tokens, grid: grid, dimension: d, flagged: [], direction: u)
        #expect(none.flaggedMeanCosine == nil && none.imageDirection == nil && none.angleDegrees == nil)
        #expect(abs(DefectAlignment.angle([1, 0], [0, 2]) - 90) < 1e-9)
        #expect(abs((DefectAlignment.meanPairwiseAngle([[1, 0], [-1, 0], [0, 1]]) ?? 0) - 60) < 1e-9)
        #expect(DefectAlignment.jaccard([1, 2, 3], [2, 3, 4]) == 0.5 && DefectAlignment.jaccard([], []) == 1)
    }
}
