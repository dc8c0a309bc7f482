import Foundation

/// The keys of DINOv3 checkpoints that hold no canonical parameter: the original's RoPE periods (which the
/// rotary embedding uses as stored, and what the base θ is read from) and its `local_cls_norm`, which the original
/// applies only to local training crops and never in evaluation.
enum DINOv3Keys {
    /// Keys of `names` that loading accepts without a parameter slot.
    static func accepted(in names: [String], layout: CheckpointLayout, prefix: String) -> [String] {
        guard layout == .dinov3Original else { return [] }
        return names.filter { $0 == prefix + CheckpointLayout.ropePeriodsKey || $0.hasPrefix(prefix + "local_cls_norm.") }
    }

    /// `RopePositionEmbedding`'s periods for base θ: `θ^(2f / (headDim/2))` for `f < headDim/4`, in float32.
    /// Periods the configuration stores (``ViTConfig/ropePeriods``) are returned as they are.
    static func periods(_ config: ViTConfig) -> [Float] {
        if let stored = config.ropePeriods { return stored }
        let quarter = config.headDimension / 4
        return (0..<quarter).map { powf(config.ropeTheta, Float(2 * $0) / Float(2 * quarter)) }
    }

    /// The base θ whose spacing `periods` have: θ^(4(n−1)/headDim) = last/first for n periods, rounded to an
    /// integer within 0.1 % (100 when there is a single period, which any θ gives). Nil when the periods do not
    /// increase, which no base above 1 gives.
    static func theta(fromPeriods periods: [Float], headDimension: Int) -> Float? {
        guard let first = periods.first, let last = periods.last, periods.count >= 2 else { return 100 }
        let ratio = Double(last) / Double(first)
        guard ratio > 1, ratio.isFinite else { return nil }
        let theta = pow(ratio, Double(headDimension) / (4 * Double(periods.count - 1)))
        guard theta.isFinite else { return nil }
        return Float(abs(theta - theta.rounded()) < 1e-3 * theta ? theta.rounded() : theta)
    }

    /// `config` with the RoPE periods an original-layout checkpoint stores: its ``ViTConfig/ropeTheta`` the base
    /// their spacing implies, and ``ViTConfig/ropePeriods`` the stored values unless they are that base's
    /// θ^(4f/headDim) (to float32 rounding). Throws when the count does not fit the head dimension or a period
    /// is not finite and positive.
    static func applying(periods stored: [Float], to config: ViTConfig, file: String, key: String) throws -> ViTConfig {
        let quarter = config.headDimension / 4
        guard stored.count == quarter else {
            throw ModelError.layout(file: file, problem: "'\(key)' holds \(stored.count) periods; head dimension "
                + "\(config.headDimension) needs \(quarter)")
        }
        if let index = stored.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
            throw ModelError.layout(file: file, problem: "'\(key)' period \(index) is \(stored[index]); RoPE "
                + "periods must be finite and positive")
        }
        var result = config
        result.ropePeriods = nil
        if let theta = theta(fromPeriods: stored, headDimension: config.headDimension), theta > 1 {
            result.ropeTheta = theta
        }
        let expected = periods(result)
        if !zip(stored, expected).allSatisfy({ abs($0 - $1) <= 1e-5 * max(abs($1), 1) }) {
            result.ropePeriods = stored
        }
        return result
    }
}
