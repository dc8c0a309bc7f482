import Foundation
import Testing
import VitreousModel
import VitreousTensor
@testable import VitreousRepair

/// Ground truth from NumPy (Scripts/make-pca-fixture.py): 157 vectors of 23 dimensions.
private struct PCAFixture: Decodable {
    let count: Int
    let dimension: Int
    let data: [Float]
    let mean: [Double]
    let eigenvalues: [Double]
    let total_variance: Double
    let components: [[Double]]
    let projection: [Double]

    static func load() throws -> PCAFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pca.json")
        return try JSONDecoder().decode(PCAFixture.self, from: try Data(contentsOf: url))
    }
}

@Suite("PCA of patch features")
struct PCATests {
    @Test("basis against NumPy: eigenvalues to 1e-9 relative, |cos| of components ≥ 1 − 1e-9, projections to 1e-4")
    func againstNumPy() throws {
        let fixture = try PCAFixture.load()
        let basis = try PCABasis.fit(fixture.data, dimension: fixture.dimension)
        for j in 0..<fixture.dimension { #expect(abs(Double(basis.mean[j]) - fixture.mean[j]) < 1e-5) }
        #expect(abs(basis.totalVariance - fixture.total_variance) / fixture.total_variance < 1e-9)
        var signs: [Double] = []
        for k in 0..<3 {
            #expect(abs(basis.variances[k] - fixture.eigenvalues[k]) / fixture.eigenvalues[k] < 1e-9,
                    "eigenvalue \(k): \(basis.variances[k]) vs \(fixture.eigenvalues[k])")
            let cosine = zip(basis.components[k], fixture.components[k]).reduce(0.0) { $0 + Double($1.0) * $1.1 }
            #expect(abs(cosine) > 1 - 1e-9, "component \(k): cos \(cosine)")
            signs.append(cosine < 0 ? -1 : 1)
            let largest = try #require(basis.components[k].indices.max {
                abs(basis.components[k][$0]) < abs(basis.components[k][$1])
            })
            #expect(basis.components[k][largest] > 0, "sign convention")
        }
        let projection = try basis.project(fixture.data)
        var worst = 0.0
        for (index, value) in projection.enumerated() {
            worst = max(worst, abs(Double(value) - signs[index % 3] * fixture.projection[index]))
        }
        #expect(worst < 1e-4, "largest projection error \(worst)")
        #expect(basis.low.enumerated().allSatisfy { k, low in
            low == (0..<fixture.count).map { projection[$0 * 3 + k] }.min() })
    }

    @Test("bad input: ragged vectors, one vector, NaN, too many components")
    func badInput() throws {
        #expect(throws: RepairError.self) { try PCABasis.fit([1, 2, 3], dimension: 2) }
        #expect(throws: RepairError.self) { try PCABasis.fit([1, 2], dimension: 2) }
        #expect(throws: RepairError.self) { try PCABasis.fit([1, .nan, 3, 4], dimension: 2) }
        #expect(throws: RepairError.self) { try PCABasis.fit([1, 2, 3, 4], dimension: 2, components: 3) }
    }

    /// Images of `side × side` patches: a two-patch border ring of background (one direction plus noise) and
    /// a foreground centre of two textures (two more directions).
    static func images(count: Int, side: Int = 9, dimension: Int = 17, seed: UInt64) throws
        -> (images: [(tokens: [Float], grid: PatchGrid)], foreground: [[Bool]]) {
        var generator = SplitMix64(seed: seed)
        let grid = try PatchGrid(height: side, width: side)
        var out: [(tokens: [Float], grid: PatchGrid)] = [], masks: [[Bool]] = []
        for _ in 0..<count {
            var tokens = generator.normal(grid.count * dimension, std: 0.3)
            var mask: [Bool] = []
            for p in 0..<grid.count {
                let cell = grid.cell(at: p)
                let inside = min(cell.row, cell.column, side - 1 - cell.row, side - 1 - cell.column) >= 2
                mask.append(inside)
                let axis = inside ? (cell.column < side / 2 ? 1 : 2) : 0
                tokens[p * dimension + axis] += inside ? 4 : -6
            }
            out.append((tokens, grid))
            masks.append(mask)
        }
        return (out, masks)
    }

    @Test("foreground split finds the centre; a saved basis maps a new image as the fitted one would")
    func foreground() throws {
        let dimension = 17
        let (images, masks) = try Self.images(count: 3, dimension: dimension, seed: 5)
        let pca = try PatchFeaturePCA.fit(images: images, dimension: dimension, foregroundThreshold: 0.35)
        #expect(pca.imageCount == 3 && pca.patchCount == 243)
        #expect(pca.foreground?.backgroundHigh != nil)
        for (image, mask) in zip(images, masks) {
            let map = try pca.map(image.tokens, grid: image.grid)
            #expect(map.foreground == mask)
            for p in 0..<image.grid.count where !mask[p] { #expect(map.rgb[(p * 3)..<(p * 3 + 3)] == [0, 0, 0]) }
            #expect(map.rgb.allSatisfy { (0...1).contains($0) })
            // The two foreground textures get different colours.
            let left = image.grid.index(of: GridIndex(row: 4, column: 2)), right = image.grid.index(of: GridIndex(row: 4, column: 6))
            let distance = (0..<3).reduce(Float(0)) { $0 + abs(map.rgb[left * 3 + $1] - map.rgb[right * 3 + $1]) }
            #expect(distance > 0.5, "\(distance)")
        }
        let saved = try JSONDecoder().decode(PatchFeaturePCA.self, from: try JSONEncoder().encode(pca))
        #expect(saved == pca)
        let fresh = try Self.images(count: 1, dimension: dimension, seed: 99)
        #expect(try saved.map(fresh.images[0].tokens, grid: fresh.images[0].grid).foreground == fresh.foreground[0])
        #expect(throws: RepairError.self) { try pca.map([1, 2, 3], grid: fresh.images[0].grid) }
    }

    @Test("without a split every patch is coloured, and the fitted patches span 0…1 in each channel")
    func plain() throws {
        let (images, _) = try Self.images(count: 2, dimension: 17, seed: 8)
        let pca = try PatchFeaturePCA.fit(images: images, dimension: 17)
        let maps = try images.map { try pca.map($0.tokens, grid: $0.grid) }
        for channel in 0..<3 {
            let values = maps.flatMap { map in stride(from: channel, to: map.rgb.count, by: 3).map { map.rgb[$0] } }
            #expect(values.min() == 0 && values.max() == 1, "channel \(channel)")
        }
        #expect(maps.allSatisfy { $0.foreground.allSatisfy { $0 } })
    }
}
