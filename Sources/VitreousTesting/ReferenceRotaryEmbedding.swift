import VitreousTensor

extension Reference {
    /// ``rotaryEmbedding(qkv:heads:cos:sin:tokens:)`` in plain loops: `qkv` `[batch, tokens, 3·heads·2·half]`,
    /// `cos` and `sin` `[rotated.count, half]`.
    public static func rotaryEmbedding(_ qkv: [Double], batch: Int, tokens: Int, heads: Int, half: Int,
                                       cos: [Double], sin: [Double], rotated: Range<Int>) -> [Double] {
        var out = qkv
        let stride = 6 * heads * half
        for b in 0..<batch {
            for t in rotated {
                let row = (b * tokens + t) * stride, table = (t - rotated.lowerBound) * half
                for head in 0..<(2 * heads) {  // the Q heads, then the K heads
                    let start = row + head * 2 * half
                    for j in 0..<half {
                        let (x1, x2, c, s) = (qkv[start + j], qkv[start + half + j], cos[table + j], sin[table + j])
                        out[start + j] = x1 * c - x2 * s
                        out[start + half + j] = x2 * c + x1 * s
                    }
                }
            }
        }
        return out
    }
}
