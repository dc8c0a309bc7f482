import Foundation
import VitreousModel
import VitreousTensor

/// Synthetic DINOv2-like models with the artifact mechanism planted in their weights, and images made
/// for them, so tests and demos know exactly which tokens turn into high-norm artifacts and why.
///
/// The model (D 64, 6 blocks, 4 heads, GELU MLP 256, 224 px → 16×16 patches, no position resampling) has
/// three plants, along fixed orthonormal directions `u` (the defect), `ĝ` (content-free patches) and `ĉ`
/// (the CLS token):
/// 1. a register neuron (block 2, hidden unit 7) that fires only on content-free patches — those whose
///    pixels are constant per channel, like flat background — and writes `60·u` into them;
/// 2. an amplifier in blocks 3–5 that adds `(u·LN(x))·u`, which makes `u` visible in the weights;
/// 3. an attention sink: in block 5, head 0, the CLS query looks for keys along `u`.
/// Everything else is seeded random (`N(0, 0.02²)` linears), with the patch embedding projected off the
/// three directions so only the plants write along them.
public enum PlantedArtifacts {
    /// Which mechanisms are planted.
    public enum Variant: String, Sendable, CaseIterable {
        /// All three plants: background patches become artifacts from block 2 on.
        case planted
        /// The same random weights with the plants' output scales (60, 1, 0.7) at zero: no artifacts.
        case clean
        /// The plants plus one trained register after CLS holding `5ĝ` (and no position embedding): the
        /// register neuron fires on it, so the high norm lives in the register, as in DINOv2 with registers.
        case trainedRegister
    }

    /// Where background (content-free) patches go in an ``image(layout:seed:)``.
    public enum Layout: String, Sendable, CaseIterable {
        /// Four isolated background cells, (2, 3), (5, 12), (9, 6), (13, 13): 1.6 % of the patches.
        case isolated
        /// A 4×4 block of background at rows and columns 0–3: 6.25 %.
        case block
        /// No background at all.
        case none

        /// The background cells as (row, column) on the 16×16 grid.
        public var backgroundCells: [(row: Int, column: Int)] {
            switch self {
            case .isolated: return [(2, 3), (5, 12), (9, 6), (13, 13)]
            case .block: return (0..<4).flatMap { r in (0..<4).map { c in (r, c) } }
            case .none: return []
            }
        }
    }

    /// The register neuron's place: block and hidden unit.
    public static let registerNeuron = (layer: 2, unit: 7)
    /// Image side in pixels and patch grid side.
    public static let imageSize = 224, gridSize = 16

    /// The architecture of every variant but ``Variant/trainedRegister`` (which adds one register).
    public static let config = ViTConfig(hiddenSize: 64, depth: 6, heads: 4, mlpHiddenSize: 256,
                                         positionGrid: gridSize, interpolation: .bicubic)

    /// The planted directions, unit length and mutually orthogonal: `u` (defect), `ĝ` (content-free
    /// patches), `ĉ` (CLS).
    public static let directions: (u: [Float], g: [Float], c: [Float]) = {
        let d = 64, norm = Float(32).squareRoot()
        func wave(_ f: (Double) -> Double, _ k: Double) -> [Float] {
            (0..<d).map { Float(f(2 * Double.pi * k * Double($0) / Double(d))) / norm }
        }
        return (wave(cos, 3), wave(sin, 5), wave(cos, 7))
    }()

    /// The weights of `variant`, the same for the same seed on every machine.
    public static func weights(variant: Variant = .planted, seed: UInt64 = 0) throws -> ViTHostWeights {
        var config = config
        if variant == .trainedRegister { config = config.withRegisters(1) }
        let scales = RandomWeightScales(linearStd: 0.02, biasStd: 0, embeddingStd: 0.02, layerScale: 1, normJitter: 0)
        var w = try ViTHostWeights.random(config: config, seed: seed, scales: scales)
        let (u, g, c) = directions
        let d = config.hiddenSize, h = config.mlpHiddenSize
        var generator = SplitMix64(seed: seed ^ 0x5eed_0f_a27e_fac7)

        // Patch embedding: any spatially uniform patch maps to exactly zero, and nothing along u, ĝ, ĉ.
        let pixels = config.patchSize * config.patchSize
        var embed = generator.normal(d * 3 * pixels, std: 0.16)
        for row in 0..<(d * 3) {
            let slice = (row * pixels)..<((row + 1) * pixels)
            let mean = embed[slice].reduce(0, +) / Float(pixels)
            for i in slice { embed[i] -= mean }
        }
        w.patchEmbedWeight = projectOff(embed, rows: d, columns: 3 * pixels)
        w.patchEmbedBias = g.map { 5 * $0 }
        w.positionEmbedding = w.positionEmbedding.map { projectOffRows($0, dim: d) }
        w.clsToken = c.map { 10 * $0 }
        // A content-free register: the register neuron fires on it, so the high norm lives there.
        if variant == .trainedRegister { w.registerTokens = g.map { 5 * $0 } }
        let (register, amplifier, sink): (Float, Float, Float) = variant == .clean ? (0, 0, 0) : (60, 1, 0.7)

        // Plant 1: the register neuron (LayerNorm turns a content-free token ≈ 5ĝ into ≈ 8ĝ, so it fires).
        let (layer, unit) = registerNeuron
        for i in 0..<d {
            w.blocks[layer].fc1Weight[unit * d + i] = g[i]
            w.blocks[layer].fc2Weight[i * h + unit] = register * u[i]
        }
        w.blocks[layer].fc1Bias[unit] = -4
        // Plant 2: GELU(z) − GELU(−z) = z, so units 11 and 12 add exactly (u·LN(x))·u.
        for block in 3...5 {
            for i in 0..<d {
                w.blocks[block].fc1Weight[11 * d + i] = u[i]
                w.blocks[block].fc1Weight[12 * d + i] = -u[i]
                w.blocks[block].fc2Weight[i * h + 11] = amplifier * u[i]
                w.blocks[block].fc2Weight[i * h + 12] = -amplifier * u[i]
            }
            w.blocks[block].fc1Bias[11] = 0
            w.blocks[block].fc1Bias[12] = 0
        }
        // Plant 3: block 5, head 0 — the CLS query (along ĉ) matches keys along u.
        for i in 0..<d {
            w.blocks[5].qkvWeight[0 * d + i] += sink * c[i]
            w.blocks[5].qkvWeight[64 * d + i] += sink * u[i]
        }
        return w
    }

    /// A normalised input image `[3, 224, 224]` (already as the encoder takes it): foreground pixels
    /// i.i.d. N(0, 1); each background cell of `layout` one N(0, 1) value per channel over its 14×14 pixels.
    public static func image(layout: Layout, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        let side = imageSize, patch = config.patchSize
        var values = generator.normal(3 * side * side)
        for (row, column) in layout.backgroundCells {
            let colour = generator.normal(3)
            for channel in 0..<3 {
                for y in (row * patch)..<((row + 1) * patch) {
                    for x in (column * patch)..<((column + 1) * patch) {
                        values[(channel * side + y) * side + x] = colour[channel]
                    }
                }
            }
        }
        return values
    }

    /// `Π·W` for `W` `[64, columns]`: each column with its components along u, ĝ, ĉ removed.
    private static func projectOff(_ matrix: [Float], rows: Int, columns: Int) -> [Float] {
        var out = matrix
        for column in 0..<columns { removeDirections(&out, start: column, stride: columns) }
        return out
    }

    /// Each row of `[n, dim]` with its components along u, ĝ, ĉ removed.
    private static func projectOffRows(_ table: [Float], dim: Int) -> [Float] {
        var out = table
        for start in stride(from: 0, to: out.count, by: dim) { removeDirections(&out, start: start, stride: 1) }
        return out
    }

    /// Removes from the 64-vector at `values[start + i·stride]` its components along the orthonormal u, ĝ, ĉ.
    private static func removeDirections(_ values: inout [Float], start: Int, stride: Int) {
        for direction in [directions.u, directions.g, directions.c] {
            var dot: Float = 0
            for i in direction.indices { dot += direction[i] * values[start + i * stride] }
            for i in direction.indices { values[start + i * stride] -= dot * direction[i] }
        }
    }
}
