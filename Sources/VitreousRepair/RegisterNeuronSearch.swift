import Foundation
import VitreousModel
import VitreousTensor

/// Finds register neurons (RegisterRepair.md, "Finding register neurons"): the MLP units that fire on the artifact patches and
/// are silent elsewhere, scored over a set of images. Their activations are what test-time registers move.
public struct RegisterNeuronSearch: Sendable {
    /// Block (0-based) whose output's patch norms decide which patches are artifacts.
    public var detectLayer: Int
    /// Highest block whose neurons are candidates: the layer where the artifacts first appear.
    public var topLayer: Int
    /// How many (block, neuron) pairs to keep.
    public var topK: Int
    /// Flags the artifact patches at ``detectLayer``.
    public var detector: ArtifactDetector
    /// Keep only neurons silent (below 0.5) on at least half the tokens, as the reference code does.
    public var sparsity: Bool

    /// A search with the reference code's defaults for everything but the layers.
    public init(detectLayer: Int, topLayer: Int, topK: Int = 10, detector: ArtifactDetector = .default,
                sparsity: Bool = true) {
        self.detectLayer = detectLayer
        self.topLayer = topLayer
        self.topK = topK
        self.detector = detector
        self.sparsity = sparsity
    }

    /// One candidate neuron and its mean activation on the artifacts.
    public struct Score: Codable, Sendable, Equatable {
        /// The block (0-based).
        public let layer: Int
        /// The MLP hidden unit.
        public let neuron: Int
        /// Its mean activation on the artifact patches.
        public let score: Float
    }

    /// What a search found.
    public struct Result: Codable, Sendable {
        /// The best ``RegisterNeuronSearch/topK`` candidates, best first.
        public let scores: [Score]
        /// Images that had artifacts and so counted.
        public let imagesUsed: Int
        /// The chosen neurons as test-time registers (one register, joint signed max).
        public var registers: TestTimeRegisters {
            TestTimeRegisters(neurons: Dictionary(grouping: scores, by: \.layer).mapValues { $0.map(\.neuron) })
        }
    }

    /// Scores every neuron of blocks `0...topLayer` over `images` (each `[1, 3, H, W]` on the encoder's device).
    /// - Throws: ``RepairError/invalidArgument(_:)`` for layers outside the model, and when no image has an
    ///   artifact at ``detectLayer`` ("lower the threshold or add images").
    public func run(encoder: ViTEncoder, images: [Tensor], progress: ((Int) -> Void)? = nil) throws -> Result {
        let config = encoder.config
        guard (0..<config.depth).contains(detectLayer), (0..<config.depth).contains(topLayer), topK > 0 else {
            throw RepairError.invalidArgument("register neuron search: detect layer \(detectLayer), top layer "
                + "\(topLayer) and top-k \(topK) must fit a model of \(config.depth) blocks")
        }
        let hidden = config.mlpHiddenSize
        var totals = [Double](repeating: 0, count: (topLayer + 1) * hidden)
        var used = 0
        for (index, image) in images.enumerated() {
            let out = try encoder.encode(image, options: EncoderOptions(
                tokenNorms: true, mlpActivationLayers: Set(0...topLayer)))
            defer { progress?(index + 1) }
            guard let norms = out.tokenNorms else { continue }
            let patchCount = out.gridHeight * out.gridWidth
            // Hidden state l + 1 is the output of block l.
            let sequence = try norms[detectLayer + 1].norms.toArray()
            let patchNorms = Array(sequence[out.firstPatch..<(out.firstPatch + patchCount)])
            let flagged = try detector.detect(norms: patchNorms).flagged.map { $0 + out.firstPatch }
            guard !flagged.isEmpty else { continue }
            used += 1
            let tokens = sequence.count
            for layer in 0...topLayer {
                guard let activations = try out.mlpActivations[layer]?.toArray() else { continue }
                for neuron in 0..<hidden {
                    if sparsity {
                        var silent = 0
                        for t in 0..<tokens where activations[t * hidden + neuron] < 0.5 { silent += 1 }
                        if Double(silent) < 0.5 * Double(tokens) { continue }
                    }
                    var total = 0.0
                    for t in flagged { total += Double(abs(activations[t * hidden + neuron])) }
                    totals[layer * hidden + neuron] += total / Double(flagged.count)
                }
            }
        }
        guard used > 0 else {
            throw RepairError.invalidArgument("no image has artifacts at block \(detectLayer) by \(detector): "
                + "lower the threshold, pick another layer or add images")
        }
        let ranked = totals.indices.sorted { totals[$0] > totals[$1] }.prefix(topK)
        return Result(scores: ranked.map { Score(layer: $0 / hidden, neuron: $0 % hidden,
                                                 score: Float(totals[$0] / Double(used))) },
                      imagesUsed: used)
    }
}
