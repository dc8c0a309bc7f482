import Foundation
import Testing
import VitreousDemo
import VitreousModel
@testable import VitreousRepair
import VitreousTensor

@Suite("Inpainting and attention cleanup")
struct InpaintingTests {
    let grid = Synthetic.grid
    let d = Synthetic.dimension

    @Test("layout A: each repaired token is exactly the mean of its 8 unflagged neighbours")
    func isolated() throws {
        let tokens = Synthetic.tokens(.isolated)
        let flagged = Synthetic.cells(.isolated)
        let result = try Inpainting.neighbourMean(tokens: tokens, grid: grid, dimension: d, flagged: flagged)
        #expect(result.passes == 1 && result.filledAll && result.unfilled.isEmpty)
        for t in flagged {
            let neighbours = grid.neighbours8(of: t)
            #expect(neighbours.count == 8 && neighbours.allSatisfy { !flagged.contains($0) })
            for i in 0..<d {
                let mean = neighbours.reduce(0.0) { $0 + Double(tokens[$1 * d + i]) } / 8
                #expect(abs(Double(result.tokens[t * d + i]) - mean) < 1e-5)
            }
        }
        for t in 0..<grid.count where !flagged.contains(t) {
            #expect(Synthetic.token(result.tokens, t) == Synthetic.token(tokens, t))
        }
    }

    @Test("layout B: the 4×4 corner block fills in 4 passes, finite and no larger than the foreground")
    func block() throws {
        let tokens = Synthetic.tokens(.block)
        let flagged = Synthetic.cells(.block)
        let result = try Inpainting.neighbourMean(tokens: tokens, grid: grid, dimension: d, flagged: flagged)
        // Pass k fills the cells at Chebyshev distance k from the unflagged region: rows/columns 3, 2, 1, 0.
        #expect(result.passes == 4 && result.filledAll)
        #expect(result.tokens.allSatisfy { $0.isFinite })
        let foregroundMax = (0..<grid.count).filter { !flagged.contains($0) }.map { Synthetic.norm(Synthetic.token(tokens, $0)) }.max() ?? 0
        let repairedMax = flagged.map { Synthetic.norm(Synthetic.token(result.tokens, $0)) }.max() ?? .infinity
        #expect(repairedMax <= foregroundMax)
        let norms = try PatchMetrics.norms(tokens: result.tokens, grid: grid, dimension: d)
        #expect(try ArtifactDetector.default.detect(norms: norms).flagged.isEmpty)
    }

    @Test("Jacobi passes: values filled in a pass are read only in the next, whatever the order")
    func jacobi() throws {
        let line = try PatchGrid(height: 1, width: 5)
        let tokens: [Float] = [2, 100, 100, 100, 10]
        for order in [[1, 2, 3], [3, 2, 1], [2, 3, 1, 2]] {
            let result = try Inpainting.neighbourMean(tokens: tokens, grid: line, dimension: 1, flagged: order)
            #expect(result.tokens == [2, 2, 6, 10, 10] && result.passes == 2)
        }
        let everything = try Inpainting.neighbourMean(tokens: tokens, grid: line, dimension: 1, flagged: [0, 1, 2, 3, 4])
        #expect(everything.tokens == tokens && everything.passes == 0 && !everything.filledAll)
        #expect(everything.unfilled == [0, 1, 2, 3, 4])
        let none = try Inpainting.neighbourMean(tokens: tokens, grid: line, dimension: 1, flagged: [])
        #expect(none.tokens == tokens && none.passes == 0 && none.filledAll)
        #expect(errorText { _ = try Inpainting.neighbourMean(tokens: tokens, grid: line, dimension: 1, flagged: [5]) }
            .contains("patch index 5, outside the 1×5 grid"))
    }

    @Test("SINDER-weighted mean all but ignores the aligned centre; projection removal zeroes the u part")
    func directionMethods() throws {
        let u = PlantedArtifacts.directions.u, g = PlantedArtifacts.directions.g
        let small = try PatchGrid(height: 3, width: 3)
        var tokens = [Float](repeating: 0, count: 9 * d)
        for t in 0..<9 { for i in 0..<d { tokens[t * d + i] = t == 4 ? 250 * u[i] + 3 * g[i] : 30 * g[i] } }
        let weighted = try Inpainting.apply(.sinderWeighted(), tokens: tokens, grid: small, dimension: d, flagged: [4],
                                            direction: u)
        let centre = Synthetic.token(weighted.tokens, 4)
        #expect(Synthetic.cosine(centre, g) > 0.9999 && abs(Synthetic.norm(centre) - 30) < 0.1)
        let projected = try Inpainting.apply(.projectionRemoval, tokens: tokens, grid: small, dimension: d, flagged: [4],
                                             direction: u.map { 2 * $0 })
        let rest = Synthetic.token(projected.tokens, 4)
        #expect(abs(zip(rest, u).reduce(0) { $0 + $1.0 * $1.1 }) < 1e-4 && abs(Synthetic.norm(rest) - 3) < 1e-4)
        #expect(Synthetic.token(projected.tokens, 0) == Synthetic.token(tokens, 0))
        #expect(errorText { _ = try Inpainting.apply(.projectionRemoval, tokens: tokens, grid: small, dimension: d, flagged: [4]) }
            .contains("needs the defect direction"))
    }

    @Test("attention cleanup: rows sum to 1, no mass left on the artifacts, removed mass reported")
    func attentionCleanup() throws {
        let (heads, n) = (4, grid.count)
        let flagged = Synthetic.cells(.isolated)
        var generator = SplitMix64(seed: 4)
        var logits = generator.normal(heads * n)
        for head in 0..<heads { for t in flagged { logits[head * n + t] += 2 * Float(head) + 4 } }
        var rows = [Float](repeating: 0, count: heads * n)
        for head in 0..<heads {  // softmax over the whole sequence: the patch part sums to 0.9
            let exps = (0..<n).map { exp(Double(logits[head * n + $0])) }
            let total = exps.reduce(0, +)
            for t in 0..<n { rows[head * n + t] = Float(0.9 * exps[t] / total) }
        }
        let before = try AttentionConcentration.perHead(rows: rows, heads: heads, flagged: flagged)
        let result = try AttentionCleanup.apply(rows: rows, heads: heads, patchCount: n, flagged: flagged)
        let after = try AttentionConcentration.perHead(rows: result.rows, heads: heads, flagged: flagged)
        for head in 0..<heads {
            let sum = result.rows[(head * n)..<((head + 1) * n)].reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - 1) < 1e-5)
            #expect(after.heads[head].artifactMass == 0)
            #expect(abs(result.removedMass[head] - before.heads[head].artifactMass) < 1e-5)
            #expect(after.heads[head].entropy > before.heads[head].entropy)
        }
        #expect(before.heads[3].artifactMass > 0.9 && result.unchangedHeads.isEmpty)
        // Masking every patch leaves nothing to renormalise: rows stay (renormalised) and the heads are named.
        let all = try AttentionCleanup.apply(rows: rows, heads: heads, patchCount: n, flagged: Array(0..<n))
        #expect(all.unchangedHeads == [0, 1, 2, 3] && all.removedMass == [0, 0, 0, 0])
        #expect(abs(all.rows[0..<n].reduce(0, +) - 1) < 1e-5)
        #expect(errorText { _ = try AttentionCleanup.apply(rows: [1, 2, 3], heads: 2, patchCount: 2, flagged: []) }
            .contains("3 attention weights for 2 heads × 2 patches"))
        #expect(errorText { _ = try AttentionCleanup.apply(rows: [0, 0], heads: 1, patchCount: 2, flagged: []) }
            .contains("no mass"))
    }
}
