import Foundation
import Testing
import VitreousModel
import VitreousTensor

@Suite("position-embedding resampling")
struct PositionEmbeddingTests {
    /// One entry of Fixtures/interp/resample_weights.json: PyTorch's 1-D matrices for one case and mode.
    struct Case: Decodable {
        let variant: String
        let `case`: String
        let `in`: Int
        let out_h: Int
        let out_w: Int
        let scale_factor_h: Double?
        let scale_factor_w: Double?
        let W_h: [[Double]]
        let W_w: [[Double]]
    }

    struct Matrices: Decodable { let matrices: [Case] }

    static let modes: [String: PositionInterpolation] = [
        "size_noaa": .bicubic, "size_aa": .bicubicAntialiased, "offset_noaa": .dinov2Original,
    ]

    @Test("the 1-D matrices equal PyTorch's for every case and mode")
    func matrices() throws {
        let data = try Data(contentsOf: Fixtures.url("interp/resample_weights.json"))
        let cases = try JSONDecoder().decode(Matrices.self, from: data).matrices
        #expect(cases.count == 9)
        for item in cases {
            let mode = try #require(PositionEmbeddingTests.modes[item.variant], "unknown variant \(item.variant)")
            for (output, reference, factor) in [(item.out_h, item.W_h, item.scale_factor_h),
                                                (item.out_w, item.W_w, item.scale_factor_w)] {
                if mode == .dinov2Original {
                    // The fixture's scale factor is the one the original code passes: (g + 0.1)/M.
                    #expect(abs((factor ?? 0) - (Double(output) + 0.1) / Double(item.in)) < 1e-15)
                }
                let matrix = try PositionEmbedding.resamplingMatrix(mode, input: item.in, output: output)
                let flat = reference.flatMap { $0 }
                #expect(reference.count == output && flat.count == matrix.count)
                let error = zip(matrix, flat).map { abs($0 - $1) }.max() ?? .infinity
                #expect(error < 1e-12, "\(item.variant) \(item.case) \(item.in)→\(output): max error \(error)")
            }
        }
    }

    @Test("the resampled table equals PyTorch's pos_embed_used", arguments: Fixtures.models)
    func resampledTable(model: String) throws {
        let weights = try ViTHostWeights.load(Fixtures.url("\(model)/hf/model.safetensors"))
        #expect(weights.config.interpolation == (model == "tiny" ? .bicubic : .bicubicAntialiased))

        // 84×112 → a 6×8 grid: resampled upwards, non-square.
        let reference = try NPYArray(contentsOf: Fixtures.url("\(model)/tiny84x112/pos_embed_used.npy"))
        #expect(reference.shape == [1, 49, 64])
        let grid = try weights.config.patchGrid(imageHeight: 84, imageWidth: 112)
        #expect(grid == (6, 8))
        let table = try weights.positionEmbedding(gridHeight: grid.height, gridWidth: grid.width)
        let error = maxError(table, reference.floats)
        // Float32 rounding only: PyTorch computes its tap weights in float32, these in float64.
        #expect(error < 1e-6, "\(model): max error \(error)")
        #expect(Array(table[0..<64]) == Array(try #require(weights.positionEmbedding)[0..<64]), "the CLS row is never resampled")

        // The other antialiasing choice is a large, easily seen error.
        var wrong = weights
        wrong.config.interpolation = model == "tiny" ? .bicubicAntialiased : .bicubic
        #expect(maxError(try wrong.positionEmbedding(gridHeight: 6, gridWidth: 8), reference.floats) > 1e-2)

        // The same through a tensor on the CPU.
        let tensor = try weights.tensors(on: .cpu).positionEmbedding(gridHeight: 6, gridWidth: 8)
        #expect(tensor.shape == [49, 64])
        #expect(try tensor.toArray() == table)
    }

    @Test("the stored table is used unchanged for the stored, square grid", arguments: Fixtures.models)
    func unchanged(model: String) throws {
        let weights = try ViTHostWeights.load(Fixtures.url("\(model)/weights_orig.safetensors"), heads: 2)
        let reference = try NPYArray(contentsOf: Fixtures.url("\(model)/tiny56/pos_embed_used.npy"))
        let table = try weights.positionEmbedding(gridHeight: 4, gridWidth: 4)
        #expect(table == reference.floats)
        #expect(table == weights.positionEmbedding)
    }

    @Test("the exact condition for resampling")
    func condition() throws {
        #expect(!PositionEmbedding.needsResampling(storedGrid: 37, gridHeight: 37, gridWidth: 37))
        #expect(PositionEmbedding.needsResampling(storedGrid: 37, gridHeight: 16, gridWidth: 16))
        // Same patch count as the stored 4×4 grid, but not square: PyTorch resamples.
        #expect(PositionEmbedding.needsResampling(storedGrid: 4, gridHeight: 2, gridWidth: 8))
        #expect(PositionEmbedding.needsResampling(storedGrid: 4, gridHeight: 4, gridWidth: 5))
        // Resampling to the stored size is the identity in every mode (the weights are exactly 0 and 1)...
        for mode in PositionInterpolation.allCases where mode != .dinov2Original {
            let identity = try PositionEmbedding.resamplingMatrix(mode, input: 5, output: 5)
            #expect(identity == (0..<25).map { $0 % 6 == 0 ? 1 : 0 }, "\(mode)")
        }
        // ...except the original's +0.1 offset, which shifts even then.
        #expect(try PositionEmbedding.resamplingMatrix(.dinov2Original, input: 5, output: 5)[0] != 1)
        // Every row of every matrix sums to one: constants survive resampling.
        for mode in PositionInterpolation.allCases {
            for (input, output) in [(37, 16), (4, 9), (37, 100), (3, 1)] {
                let matrix = try PositionEmbedding.resamplingMatrix(mode, input: input, output: output)
                for row in 0..<output {
                    let sum = matrix[(row * input)..<((row + 1) * input)].reduce(0, +)
                    #expect(abs(sum - 1) < 1e-12, "\(mode) \(input)→\(output) row \(row): \(sum)")
                }
            }
        }
    }

    @Test("bad sizes are refused with a reason")
    func errors() throws {
        let config = ViTConfig.small
        #expect(errorText { _ = try config.patchGrid(imageHeight: 100, imageWidth: 224) }
            .contains("image size 100×224 is not a multiple of the patch size 14"))
        #expect(errorText { _ = try PositionEmbedding.resamplingMatrix(.bicubic, input: 4, output: 0) }
            .contains("cannot resample 4 positions to 0"))
        #expect(errorText { _ = try PositionEmbedding.resample([0, 1], dimension: 1, storedGrid: 2, gridHeight: 3,
                                                               gridWidth: 3, mode: .bicubic) }
            .contains("a position table of 2 values is not [1 + 2², 1]"))
    }

    private func maxError(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
