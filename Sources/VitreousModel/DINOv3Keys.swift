import Foundation

/// The keys of DINOv3 checkpoints that hold no canonical parameter: the original's RoPE periods (checked
/// against the configuration, and what the base θ is read from) and its `local_cls_norm`, which the original
/// applies only to local training crops and never in evaluation.
enum DINOv3Keys {
    /// Keys of `names` that loading accepts without a parameter slot.
    static func accepted(in names: [String], layout: CheckpointLayout, prefix: String) -> [String] {
        guard layout == .dinov3Original else { return [] }
        return names.filter { $0 == prefix + CheckpointLayout.ropePeriodsKey || $0.hasPrefix(prefix + "local_cls_norm.") }
    }

    /// `RopePositionEmbedding`'s periods for base θ: `θ^(2f / (headDim/2))` for `f < headDim/4`, in float32.
    static func periods(_ config: ViTConfig) -> [Float] {
        let quarter = config.headDimension / 4
        return (0..<quarter).map { powf(config.ropeTheta, Float(2 * $0) / Float(2 * quarter)) }
    }

    /// The base θ whose periods `periods` are (100 when there is a single period, which any θ gives), rounded
    /// to an integer within 0.1 %. Nil when the periods are not positive and increasing.
    static func theta(fromPeriods periods: [Float], headDimension: Int) -> Float? {
        guard let last = periods.last, periods.count >= 2 else { return 100 }
        guard periods.allSatisfy({ $0 > 0 && $0.isFinite }), last > 1 else { return nil }
        let f = Double(periods.count - 1)
        let theta = pow(Double(last), Double(headDimension) / (4 * f))
        return Float(abs(theta - theta.rounded()) < 1e-3 * theta ? theta.rounded() : theta)
    }

    /// Throws unless `stored` are the periods of the configuration's θ (to float32 rounding): a checkpoint
    /// made with the min/max-period parametrisation has others, and this encoder would rotate it wrongly.
    static func checkPeriods(_ stored: [Float], config: ViTConfig, file: String, key: String) throws {
        let expected = periods(config)
        guard stored.count == expected.count,
              zip(stored, expected).allSatisfy({ abs($0 - $1) <= 1e-5 * max(abs($1), 1) }) else {
            throw ModelError.layout(file: file, problem: "'\(key)' holds \(stored.count) periods that are not "
                + "θ^(4f/\(config.headDimension)) for θ = \(config.ropeTheta): only the base-θ RoPE parametrisation "
                + "is supported")
        }
    }
}
