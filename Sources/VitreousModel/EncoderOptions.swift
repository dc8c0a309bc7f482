import Foundation
import VitreousTensor

/// What a forward pass computes beyond the final tokens. Everything here is off by default and costs
/// nothing unless asked for.
public struct EncoderOptions: Sendable, Equatable {
    /// Keep the residual stream after the embeddings and after every block (`depth + 1` tensors).
    public var hiddenStates = false
    /// Token norms after the embeddings and after every block, by the fused token-norm kernel, with
    /// per-image statistics over the patch tokens.
    public var tokenNorms = false
    /// The last block's softmax attention of the CLS query, per head.
    public var clsAttention = false
    /// Test-time registers: extra tokens after the patches that chosen MLP neurons' activations are moved
    /// into, so the artifacts form there instead of on the patches. Nil: the plain forward pass.
    public var testTimeRegisters: TestTimeRegisters?
    /// Blocks (0-based) whose MLP hidden activations to return, after the nonlinearity and any shift:
    /// what finding register neurons reads.
    public var mlpActivationLayers: Set<Int> = []
    /// Blocks (0-based) whose full softmax attention to return, every query row of every head (`[B, heads, T, T]`,
    /// T tokens × T per head and image): what layer-by-layer attention analysis reads.
    public var attentionLayers: Set<Int> = []

    /// Options with each output asked for or not; by default only the final tokens.
    public init(hiddenStates: Bool = false, tokenNorms: Bool = false, clsAttention: Bool = false,
                testTimeRegisters: TestTimeRegisters? = nil, mlpActivationLayers: Set<Int> = []) {
        self.hiddenStates = hiddenStates
        self.tokenNorms = tokenNorms
        self.clsAttention = clsAttention
        self.testTimeRegisters = testTimeRegisters
        self.mlpActivationLayers = mlpActivationLayers
    }
}

/// Register neurons and how to move them: the training-free "test-time registers" repair. Stored as JSON
/// so a set found once (`vitreous repair --find-neurons`) can be reused.
public struct TestTimeRegisters: Codable, Sendable, Equatable {
    /// Extra tokens appended after the patches (zero vectors, no position embedding).
    public var count: Int
    /// Block index (0-based) → MLP hidden indices whose activations move into the registers.
    public var neurons: [Int: [Int]]
    /// How the activations move (``NeuronShiftRule``).
    public var rule: NeuronShiftRule
    /// Multiplies the value moved into the registers.
    public var scale: Float

    /// Test-time registers moving `neurons` into `count` extra tokens by `rule`, scaled by `scale`.
    public init(neurons: [Int: [Int]], count: Int = 1, rule: NeuronShiftRule = .jointSignedMax, scale: Float = 1) {
        self.neurons = neurons
        self.count = count
        self.rule = rule
        self.scale = scale
    }
}

/// The result of ``ViTEncoder/encode(_:options:)`` for a batch of B images with a gh × gw patch grid.
public struct EncoderOutput: Sendable {
    /// `[B, T, D]` after the final layer norm, tokens in model order: CLS, registers, patches.
    public let tokens: Tensor
    /// `[B, D]`: the CLS token.
    public let cls: Tensor
    /// `[B, R, D]`, or nil for a model without registers.
    public let registers: Tensor?
    /// `[B, gh, gw, D]`: the patch tokens on their grid (row = y).
    public let patches: Tensor
    /// The patch grid.
    public let gridHeight: Int, gridWidth: Int
    /// With ``EncoderOptions/hiddenStates``: `[B, T, D]` after the embeddings (index 0, registers included)
    /// and after each block (index i), before the final norm.
    public let hiddenStates: [Tensor]?
    /// With ``EncoderOptions/tokenNorms``: per layer as ``hiddenStates`` is indexed, norms `[B, T]` and
    /// per-image statistics over the patch tokens.
    public let tokenNorms: [TokenNorms]?
    /// With ``EncoderOptions/clsAttention``: the last block's CLS attention `[B, heads, T]`; each row sums to 1.
    public let clsAttention: Tensor?
    /// Index of the first patch token, `1 + R`.
    public let firstPatch: Int
    /// With ``EncoderOptions/testTimeRegisters``: `[B, K, D]`, the test-time registers after the final norm
    /// (they follow the patches in ``tokens``).
    public let testTimeRegisters: Tensor?
    /// With ``EncoderOptions/mlpActivationLayers``: block → its MLP activations `[B, T, H]`.
    public let mlpActivations: [Int: Tensor]
    /// With ``EncoderOptions/attentionLayers``: block → its softmax attention `[B, heads, T, T]` (rows = queries,
    /// each sums to 1).
    public let attentionMaps: [Int: Tensor]
}

extension EncoderOptions {
    /// Every check the options need against a model, in one place: what ``ViTEncoder/encode(_:options:)`` runs
    /// before any work.
    /// - Throws: ``ModelError/invalidArgument(_:)`` for test-time registers that do not fit `config`.
    func validate(for config: ViTConfig) throws {
        if let bad = attentionLayers.first(where: { !(0..<config.depth).contains($0) }) {
            throw ModelError.invalidArgument("attention layers: block \(bad) is outside 0..<\(config.depth)")
        }
        guard let shift = testTimeRegisters else { return }
        guard shift.count >= 1 else { throw ModelError.invalidArgument("test-time registers: count \(shift.count)") }
        for (layer, units) in shift.neurons where !(0..<config.depth).contains(layer)
            || !units.allSatisfy({ (0..<config.mlpHiddenSize).contains($0) }) {
            throw ModelError.invalidArgument("test-time registers: block \(layer) neurons \(units) do not fit "
                + "\(config.depth) blocks of \(config.mlpHiddenSize) MLP units")
        }
    }
}
