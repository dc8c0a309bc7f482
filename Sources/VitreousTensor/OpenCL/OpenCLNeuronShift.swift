extension OpenCLBackend {
    package func shiftNeurons(_ h: Tensor, batch: Int, tokens: Int, hidden: Int, neurons: [Int],
                             registers: Range<Int>, patches: Range<Int>, rule: NeuronShiftRule, scale: Float) throws {
        // The indices travel as floats (exact below 2²⁴) in an ordinary tensor.
        let indices = try neurons.map(Float.init).withUnsafeBufferPointer { try tensor($0, shape: [neurons.count]) }
        let group = programs.tuning.shiftGroup
        try launch("neuron_shift", in: "registers", global: batch * group, local: group,
                   [.buffer(try buffer(h)), .buffer(try buffer(indices)), .int(neurons.count), .int(tokens),
                    .int(hidden), .int(registers.lowerBound), .int(registers.upperBound), .int(patches.lowerBound),
                    .int(patches.upperBound), .int(rule == .jointSignedMax ? 0 : 1), .float(scale)])
    }
}
