// Test-time registers' core edit: moving chosen MLP neurons' activations from the patches into an extra,
// untrained token, so the artifact they would write lands there instead. One unit (the recipe of AddingAnOp.md):
// the public op with its checks, the CPU implementation, and the dispatch to OpenCL/OpenCLNeuronShift.swift.

/// How ``shiftNeurons(_:neurons:registers:patches:rule:scale:)`` moves activations.
public enum NeuronShiftRule: String, Sendable, Codable, CaseIterable {
    /// One value per layer: the chosen neurons' activation largest in magnitude over every token (sign
    /// kept) goes into each of them in the registers; patches get 0; CLS and trained registers are left as
    /// they are. What the published DINOv2 test-time-register model does.
    case jointSignedMax
    /// Per neuron: its maximum over tokens goes into the registers and every other token gets 0.
    case perNeuronMax
}

/// MLP activations `h` `[batch, tokens, hidden]` with the chosen `neurons` moved into the test-time
/// registers (tokens `registers`) and taken from the patches (tokens `patches`) by `rule`, per batch item.
/// The result is a new tensor; `h` is not changed.
public func shiftNeurons(_ h: Tensor, neurons: [Int], registers: Range<Int>, patches: Range<Int>,
                         rule: NeuronShiftRule = .jointSignedMax, scale: Float = 1) throws -> Tensor {
    let backend = try commonBackend("shiftNeurons", h)
    guard h.rank == 3 else {
        throw VitreousError.shapeMismatch("shiftNeurons: expected [batch, tokens, hidden], got \(h.shape)")
    }
    let (batch, tokens, hidden) = (h.shape[0], h.shape[1], h.shape[2])
    guard neurons.allSatisfy({ (0..<hidden).contains($0) }) else {
        throw VitreousError.invalidArgument("shiftNeurons: neuron indices \(neurons) outside 0..<\(hidden)")
    }
    for (range, name) in [(registers, "registers"), (patches, "patches")]
    where range.lowerBound < 0 || range.upperBound > tokens {
        throw VitreousError.invalidArgument("shiftNeurons: \(name) \(range) outside 0..<\(tokens)")
    }
    guard scale.isFinite else { throw VitreousError.invalidArgument("shiftNeurons: scale \(scale)") }
    let out = try h.copy()
    guard !neurons.isEmpty, batch > 0, tokens > 0 else { return out }
    // The copy is fresh and shared with no one: the backend edits it in place.
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.shiftNeurons(out, batch: batch, tokens: tokens, hidden: hidden, neurons: neurons,
                             registers: registers, patches: patches, rule: rule, scale: scale)
    case .openCL(let openCL):
        try openCL.shiftNeurons(out, batch: batch, tokens: tokens, hidden: hidden, neurons: neurons,
                                registers: registers, patches: patches, rule: rule, scale: scale)
    }
    return out
}

extension CPUBackend {
    /// The shift in place on a fresh `h` `[batch, tokens, hidden]`, one batch item after another.
    func shiftNeurons(_ h: Tensor, batch: Int, tokens: Int, hidden: Int, neurons: [Int],
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
