// shiftNeurons on an OpenCL device: `Kernels/registers.cl`, one work-group per image.

extension KernelTunable {
    /// registers.cl's work-group per image (`SHIFT_WG`).
    static let shiftGroup = KernelTunable("SHIFT_WG", cpu: 16, gpu: 64, workGroupSize: true)
}

extension KernelProgram {
    static let registers = KernelProgram(file: "registers", source: KernelSources.registers, tunables: [.shiftGroup])
}

extension OpenCLKernel {
    static let neuronShift = OpenCLKernel(.registers, "neuron_shift")
}

extension OpenCLBackend {
    /// Test-time registers' neuron shift in place on a fresh `h` `[batch, tokens, hidden]`.
    func shiftNeurons(_ h: Tensor, batch: Int, tokens: Int, hidden: Int, neurons: [Int],
                      registers: Range<Int>, patches: Range<Int>, rule: NeuronShiftRule, scale: Float) throws {
        // The indices travel as floats (exact below 2²⁴) in an ordinary tensor.
        let indices = try neurons.map(Float.init).withUnsafeBufferPointer { try tensor($0, shape: [neurons.count]) }
        let group = programs.tuning[.shiftGroup]
        try launch(.neuronShift, global: batch * group, local: group,
                   [.buffer(try buffer(h)), .buffer(try buffer(indices)), .int(neurons.count), .int(tokens),
                    .int(hidden), .int(registers.lowerBound), .int(registers.upperBound), .int(patches.lowerBound),
                    .int(patches.upperBound), .int(rule == .jointSignedMax ? 0 : 1), .float(scale)])
    }
}
