import Foundation

extension Reference {
    /// Per attention row of `p` `[maps, tokens, tokens]`: `−Σ p log p` over the keys with `p > 0` (`[maps · tokens]`),
    /// and for the patch queries `Σⱼ p[first + j] · distances[i · patches + j]` over the patch keys
    /// (`[maps · patches]`), float64.
    public static func attentionRowStatistics(_ p: [Double], tokens: Int, distances: [Double], first: Int,
                                              patches: Int) -> (entropy: [Double], distance: [Double]) {
        let maps = p.count / (tokens * tokens)
        var entropy: [Double] = [], distance: [Double] = []
        for map in 0..<maps {
            for query in 0..<tokens {
                let row = (map * tokens + query) * tokens
                var h = 0.0
                for key in 0..<tokens where p[row + key] > 0 { h -= p[row + key] * log(p[row + key]) }
                entropy.append(h)
            }
            for i in 0..<patches {
                let row = (map * tokens + first + i) * tokens + first
                var d = 0.0
                for j in 0..<patches { d += p[row + j] * distances[i * patches + j] }
                distance.append(d)
            }
        }
        return (entropy, distance)
    }
}
