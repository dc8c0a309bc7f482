import VitreousTensor

extension Reference {
    /// ``shiftNeurons(_:neurons:registers:patches:rule:scale:)`` in plain loops.
    public static func shiftNeurons(_ h: [Double], batch: Int, tokens: Int, hidden: Int, neurons: [Int],
                                    registers: Range<Int>, patches: Range<Int>, rule: NeuronShiftRule,
                                    scale: Double) -> [Double] {
        var out = h
        for b in 0..<batch {
            func index(_ t: Int, _ r: Int) -> Int { (b * tokens + t) * hidden + r }
            switch rule {
            case .jointSignedMax:
                var m = 0.0
                for t in 0..<tokens {
                    for r in neurons where abs(h[index(t, r)]) > abs(m) || (abs(h[index(t, r)]) == abs(m) && h[index(t, r)] > m) {
                        m = h[index(t, r)]
                    }
                }
                for t in 0..<tokens {
                    for r in neurons {
                        if registers.contains(t) { out[index(t, r)] = scale * m } else if patches.contains(t) { out[index(t, r)] = 0 }
                    }
                }
            case .perNeuronMax:
                for r in neurons {
                    let m = (0..<tokens).map { out[index($0, r)] }.max() ?? 0
                    for t in 0..<tokens { out[index(t, r)] = registers.contains(t) ? scale * m : 0 }
                }
            }
        }
        return out
    }
}
