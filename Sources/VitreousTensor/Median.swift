/// The median every part of the package reports, so that none disagrees on an even count: the mean of the
/// two middle values (linear interpolation at 0.5, NumPy's default); 0 for no values.
package func median(_ values: [Double]) -> Double { quantile(values, 0.5) }

/// The `q` quantile with linear interpolation between order statistics (NumPy's default), so p99 of a
/// 256-patch grid lies between its 3rd and 2nd largest values rather than jumping between them.
package func quantile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    return sorted[lower] + fraction * (sorted[upper] - sorted[lower])
}
