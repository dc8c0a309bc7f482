import Foundation
import VitreousModel
import VitreousTensor

/// What a reduced ``Precision`` changes in the quantities Vitreous reports, measured against float32 on the same
/// weights and images: the questions users ask of bf16 and fp16 (are the token norms and the high-norm tokens
/// the same? does the repair still work?), answered in the measures the project reports anyway.
public struct PrecisionFidelity: Codable, Sendable {
    /// The reduced precision compared with float32.
    public var precision: Precision
    /// Images compared.
    public var images: Int
    /// ‖tokens − tokens₃₂‖ / ‖tokens₃₂‖ of the final tokens `[B, T, D]`.
    public var tokensRelativeError: Double
    /// The smallest cosine similarity between an image's CLS token and its float32 one.
    public var minCLSCosine: Double
    /// The smallest cosine similarity between a patch token and its float32 one, over all images.
    public var minPatchCosine: Double
    /// Per layer (0 = embeddings, L = block L): max over images of ‖norms − norms₃₂‖∞ / ‖norms₃₂‖∞ of the patch
    /// norm map.
    public var normMapMaxRelativeDifference: [Double]
    /// Per layer: patches flagged as artifacts (``ArtifactDetector/default``) in float32, summed over images.
    public var flagged32: [Int]
    /// Per layer: patches flagged in one precision but not the other, summed over images (0 everywhere: the same
    /// tokens are flagged).
    public var flaggedDisagreements: [Int]
    /// Per block: the angle in degrees between the defect directions found from the float32 weights and from the
    /// weights as this precision stores them (``SingularDefect``; a direction's sign is arbitrary, so 0–90°).
    public var defectAngleDegrees: [Double]
    /// With test-time registers: the largest patch-token norm after the last block, float32 and this precision.
    public var maxPatchNormWithRegisters: (fp32: Double, reduced: Double)?

    /// Whether every layer flags the same patches in both precisions.
    public var sameArtifacts: Bool { flaggedDisagreements.allSatisfy { $0 == 0 } }

    enum CodingKeys: String, CodingKey {
        case precision, images, tokensRelativeError, minCLSCosine, minPatchCosine, normMapMaxRelativeDifference
        case flagged32, flaggedDisagreements, defectAngleDegrees, maxPatchNormFP32, maxPatchNormReduced
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        precision = try c.decode(Precision.self, forKey: .precision)
        images = try c.decode(Int.self, forKey: .images)
        tokensRelativeError = try c.decode(Double.self, forKey: .tokensRelativeError)
        minCLSCosine = try c.decode(Double.self, forKey: .minCLSCosine)
        minPatchCosine = try c.decode(Double.self, forKey: .minPatchCosine)
        normMapMaxRelativeDifference = try c.decode([Double].self, forKey: .normMapMaxRelativeDifference)
        flagged32 = try c.decode([Int].self, forKey: .flagged32)
        flaggedDisagreements = try c.decode([Int].self, forKey: .flaggedDisagreements)
        defectAngleDegrees = try c.decode([Double].self, forKey: .defectAngleDegrees)
        if let fp32 = try c.decodeIfPresent(Double.self, forKey: .maxPatchNormFP32),
           let reduced = try c.decodeIfPresent(Double.self, forKey: .maxPatchNormReduced) {
            maxPatchNormWithRegisters = (fp32, reduced)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(precision, forKey: .precision)
        try c.encode(images, forKey: .images)
        try c.encode(tokensRelativeError, forKey: .tokensRelativeError)
        try c.encode(minCLSCosine, forKey: .minCLSCosine)
        try c.encode(minPatchCosine, forKey: .minPatchCosine)
        try c.encode(normMapMaxRelativeDifference, forKey: .normMapMaxRelativeDifference)
        try c.encode(flagged32, forKey: .flagged32)
        try c.encode(flaggedDisagreements, forKey: .flaggedDisagreements)
        try c.encode(defectAngleDegrees, forKey: .defectAngleDegrees)
        try c.encodeIfPresent(maxPatchNormWithRegisters?.fp32, forKey: .maxPatchNormFP32)
        try c.encodeIfPresent(maxPatchNormWithRegisters?.reduced, forKey: .maxPatchNormReduced)
    }

    /// Runs `weights` in float32 and in `precision` on `images` (`[B, 3, H, W]`, normalised, on `device`) and
    /// compares them; with `registers`, also the test-time-register repair.
    /// - Throws: ``VitreousError/invalidArgument(_:)`` for a precision `device` does not run, the encoder's and
    ///   the detector's errors.
    public static func measure(weights: ViTHostWeights, images: Tensor, precision: Precision, device: Device = .cpu,
                               registers: TestTimeRegisters? = nil) throws -> PrecisionFidelity {
        let reference = ViTEncoder(weights: try weights.tensors(on: device))
        let reduced = ViTEncoder(weights: try weights.tensors(on: device, precision: precision))
        let options = EncoderOptions(tokenNorms: true)
        let (a, b) = (try reference.encode(images, options: options), try reduced.encode(images, options: options))
        let (tokens32, tokens) = (try a.tokens.toArray(), try b.tokens.toArray())
        let d = weights.config.hiddenSize, batch = images.shape[0], t = a.tokens.shape[1]
        let patches = a.firstPatch..<(a.firstPatch + a.gridHeight * a.gridWidth)

        var minCLS = 1.0, minPatch = 1.0
        for image in 0..<batch {
            for token in [0] + Array(patches) {
                let start = (image * t + token) * d
                let cosine = Self.cosine(tokens32[start..<(start + d)], tokens[start..<(start + d)])
                if token == 0 { minCLS = min(minCLS, cosine) } else { minPatch = min(minPatch, cosine) }
            }
        }
        var normDifference: [Double] = [], flagged32: [Int] = [], disagreements: [Int] = []
        for (norms32, norms) in zip(a.tokenNorms ?? [], b.tokenNorms ?? []) {
            let (n32, n) = (try norms32.norms.toArray(), try norms.norms.toArray())
            var worst = 0.0, flagged = 0, differ = 0
            for image in 0..<batch {
                let range = (image * t + patches.lowerBound)..<(image * t + patches.upperBound)
                let (map32, map) = (Array(n32[range]), Array(n[range]))
                let scale = Double(map32.max() ?? 0)
                let gap = zip(map32, map).map { Double(abs($0 - $1)) }.max() ?? 0
                worst = max(worst, scale > 0 ? gap / scale : gap)
                let (f32, f) = (Set(try ArtifactDetector.default.detect(norms: map32).flagged),
                                Set(try ArtifactDetector.default.detect(norms: map).flagged))
                flagged += f32.count
                differ += f32.symmetricDifference(f).count
            }
            normDifference.append(worst)
            flagged32.append(flagged)
            disagreements.append(differ)
        }
        let directions32 = try SingularDefect.directions(of: weights)
        let directions = try SingularDefect.directions(of: try reduced.weights.host())
        let angles = zip(directions32.layers, directions.layers).map { pair in
            acos(min(1, abs(Self.cosine(pair.0.direction[...], pair.1.direction[...])))) * 180 / .pi
        }
        var repaired: (Double, Double)?
        if let registers {
            let options = EncoderOptions(hiddenStates: true, testTimeRegisters: registers)
            let maxima = try [reference, reduced].map { encoder -> Double in
                let out = try encoder.encode(images, options: options)
                let last = try (out.hiddenStates?.last).map { try $0.toArray() } ?? []
                let tokens = last.count / max(batch * d, 1)
                var largest = 0.0
                for image in 0..<batch {
                    for token in patches {
                        let start = (image * tokens + token) * d
                        largest = max(largest, Self.norm(last[start..<(start + d)]))
                    }
                }
                return largest
            }
            repaired = (maxima[0], maxima[1])
        }
        return PrecisionFidelity(
            precision: precision, images: batch,
            tokensRelativeError: Self.norm(zip(tokens32, tokens).map { $0 - $1 }[...]) / Self.norm(tokens32[...]),
            minCLSCosine: minCLS, minPatchCosine: minPatch, normMapMaxRelativeDifference: normDifference,
            flagged32: flagged32, flaggedDisagreements: disagreements, defectAngleDegrees: angles,
            maxPatchNormWithRegisters: repaired)
    }

    init(precision: Precision, images: Int, tokensRelativeError: Double, minCLSCosine: Double, minPatchCosine: Double,
         normMapMaxRelativeDifference: [Double], flagged32: [Int], flaggedDisagreements: [Int],
         defectAngleDegrees: [Double], maxPatchNormWithRegisters: (fp32: Double, reduced: Double)?) {
        self.precision = precision
        self.images = images
        self.tokensRelativeError = tokensRelativeError
        self.minCLSCosine = minCLSCosine
        self.minPatchCosine = minPatchCosine
        self.normMapMaxRelativeDifference = normMapMaxRelativeDifference
        self.flagged32 = flagged32
        self.flaggedDisagreements = flaggedDisagreements
        self.defectAngleDegrees = defectAngleDegrees
        self.maxPatchNormWithRegisters = maxPatchNormWithRegisters
    }

    static func norm(_ x: ArraySlice<Float>) -> Double { x.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }

    static func cosine(_ x: ArraySlice<Float>, _ y: ArraySlice<Float>) -> Double {
        let dot = zip(x, y).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        let scale = norm(x) * norm(y)
        return scale > 0 ? dot / scale : 1
    }
}
