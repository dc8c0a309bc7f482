import Foundation
import VitreousModel

/// Settings of the defect-direction analysis.
public struct DefectDirectionOptions: Codable, Sendable, Equatable {
    /// How the MLP is linearised; ``JacobianMethod/analytic`` by default.
    public var jacobian: JacobianMethod
    /// A layer has a dominant direction when `σ1/σ2` is at least this (1.05: the fixture shows 1.00–1.01
    /// where nothing is planted and ≥ 2 where something is).
    public var minimumGap: Double
    /// Whether to hash the weights for ``DefectDirections/weightsFingerprint`` (a few seconds for ViT-g).
    public var computeFingerprint: Bool

    /// The defaults of RegisterRepair.md, "Defect direction from the weights": analytic J, gap 1.05. (The
    /// eigenpairs come from LAPACK `dsyevr`, a direct method: there is no tolerance or iteration cap; JSON
    /// written with the former power iteration's `tolerance` and `maxIterations` still decodes, the keys are ignored.)
    public init(jacobian: JacobianMethod = .analytic, minimumGap: Double = 1.05, computeFingerprint: Bool = true) {
        self.jacobian = jacobian
        self.minimumGap = minimumGap
        self.computeFingerprint = computeFingerprint
    }
}

/// The defect direction of one block's output `x_l`.
public struct LayerDefectDirection: Codable, Sendable, Equatable {
    /// Block index (0-based); compare ``direction`` with that block's output tokens.
    public var layer: Int
    /// `u_l`: unit length, computed in Float64, sign fixed so that its largest-magnitude entry is positive.
    /// Meaningful only when ``hasDominantDirection``.
    public var direction: [Float]
    /// Largest and second-largest singular values of `G_l`.
    public var sigma1: Double, sigma2: Double
    /// `σ1/σ2` (`Double.greatestFiniteMagnitude` when σ2 is 0, so JSON stays valid).
    public var gap: Double
    /// Whether `gap ≥ minimumGap`: below it, `u_l` is an arbitrary pick from a near-tie.
    public var hasDominantDirection: Bool
}

/// Defect directions for every block of a model, with what they were computed from (a cache entry).
public struct DefectDirections: Codable, Sendable, Equatable {
    /// ``WeightFingerprint/defectDirection(_:)`` of the weights, or "" when not computed.
    public var weightsFingerprint: String
    /// The Jacobian method, as text.
    public var jacobian: String
    /// One entry per block, in order.
    public var layers: [LayerDefectDirection]

    /// What a cache should key this result by: the weights and the method.
    public var cacheKey: String { "\(weightsFingerprint)/\(jacobian)" }
}

/// Training-free defect directions from the weights alone (SINDER, RegisterRepair.md, "Defect direction from the weights"): the leading left
/// singular vector of the product of the blocks' linear models.
public enum SingularDefect {
    /// `u_l`, σ1, σ2 and the gap for every block of `weights`. `G_l = E_l·G_{l−1}` is built incrementally in
    /// Float64 with `cblas_dgemm` (about `2·D·H·D + 3·D³` multiply-adds per block), so ViT-L and ViT-g sizes
    /// take seconds, not minutes.
    /// - Throws: ``RepairError`` when the weights do not fit their configuration or an option is out of range.
    public static func directions(of weights: ViTHostWeights,
                                  options: DefectDirectionOptions = DefectDirectionOptions()) throws -> DefectDirections {
        guard options.minimumGap >= 1, options.minimumGap.isFinite else {
            throw RepairError.invalidArgument("the defect direction's minimum gap σ1/σ2 must be a finite number ≥ 1, got \(options.minimumGap)")
        }
        let config = weights.config
        guard weights.blocks.count == config.depth else {
            throw RepairError.unsupportedWeights("\(weights.blocks.count) blocks for a configuration of depth \(config.depth)")
        }
        let d = config.hiddenSize
        var product = DoubleMatrix.identity(d)
        var layers: [LayerDefectDirection] = []
        for (index, block) in weights.blocks.enumerated() {
            let model = try BlockLinearModel(block: block, config: config, jacobian: options.jacobian)
            product = try model.block.multiplied(by: product)
            layers.append(try analyse(product, layer: index, minimumGap: options.minimumGap))
        }
        let fingerprint = options.computeFingerprint ? try WeightFingerprint.defectDirection(weights) : ""
        return DefectDirections(weightsFingerprint: fingerprint, jacobian: options.jacobian.description, layers: layers)
    }

    /// The leading left singular vector of `g`, its σ1, σ2 and gap (also usable on any square matrix), from the two
    /// largest eigenpairs of `G·Gᵀ` by LAPACK `dsyevr`; σ is `‖Gᵀu‖`. LAPACK replaced a hand-written power
    /// iteration because it is measurably better on the real sizes: 30× faster (D = 384: 5 ms against 150 ms;
    /// D = 768: 24 ms against 490 ms, gaps of 1.0006–1.0009 as random weights give) and exact to rounding where
    /// the iteration's vector was off by 1e-4 (max |u − u_numpy|: 7e-9 against 1.5e-4, against numpy.linalg.eigh).
    static func analyse(_ g: DoubleMatrix, layer: Int, minimumGap: Double) throws -> LayerDefectDirection {
        // G·Gᵀ is symmetric, so its row-major upper triangle is the column-major lower triangle LAPACK reads.
        var gram = try DoubleMatrix.product(g, g, transposeB: true).values
        let n = g.rows, count = min(2, n)
        let (_, vectors) = try largestEigenpairs(&gram, size: n, count: count)
        var u = Array(vectors[0..<n])
        if let largest = u.indices.max(by: { abs(u[$0]) < abs(u[$1]) }), u[largest] < 0 {
            for i in u.indices { u[i] = -u[i] }
        }
        func sigma(_ v: ArraySlice<Double>) -> Double {
            g.times(Array(v), transposed: true).reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
        let sigma1 = sigma(vectors[0..<n]), sigma2 = count > 1 ? sigma(vectors[n..<(2 * n)]) : 0
        let gap: Double
        if sigma2 > 0 {
            gap = sigma1 / sigma2
        } else {
            gap = sigma1 > 0 ? .greatestFiniteMagnitude : 1
        }
        return LayerDefectDirection(layer: layer, direction: u.map(Float.init), sigma1: sigma1, sigma2: sigma2,
                                    gap: gap, hasDominantDirection: gap >= minimumGap)
    }
}
