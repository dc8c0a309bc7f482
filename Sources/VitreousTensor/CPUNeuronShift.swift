extension CPUBackend {
    package func shiftNeurons(_ h: Tensor, batch: Int, tokens: Int, hidden: Int, neurons: [Int],
                             registers: Range<Int>, patches: Range<Int>, rule: NeuronShiftRule, scale: Float) throws {
        let base = try host(h)
        for b in 0..<batch {
            let item = base + b * tokens * hidden
            switch rule {
            case .jointSignedMax:
                var m: Float = 0
                for t in 0..<tokens {
                    for r in neurons {
                        let v = item[t * hidden + r]
                        if abs(v) > abs(m) || (abs(v) == abs(m) && v > m) { m = v }
                    }
                }
                for t in 0..<tokens {
                    for r in neurons {
                        if registers.contains(t) { item[t * hidden + r] = scale * m } else if patches.contains(t) { item[t * hidden + r] = 0 }
                    }
                }
            case .perNeuronMax:
                for r in neurons {
                    var m = -Float.infinity
                    for t in 0..<tokens { m = max(m, item[t * hidden + r]) }
                    for t in 0..<tokens { item[t * hidden + r] = registers.contains(t) ? scale * m : 0 }
                }
            }
        }
    }
}
