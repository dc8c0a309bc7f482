// softmax on an OpenCL device: `Kernels/softmax.cl`, one work-group per row.

extension KernelTunable {
    /// softmax.cl's work-group per row (`SM_WG`).
    static let softmaxGroup = KernelTunable("SM_WG", cpu: 16, gpu: 128, workGroupSize: true)
}

extension KernelProgram {
    static let softmax = KernelProgram(file: "softmax", source: KernelSources.softmax, tunables: [.softmaxGroup])
}

extension OpenCLKernel {
    static let softmaxRows = OpenCLKernel(.softmax, "softmax_rows")
}

extension OpenCLBackend {
    /// Softmax over each of `rows` rows of `columns`.
    func softmax(_ x: Tensor, rows: Int, columns: Int, out: Tensor) throws {
        let group = programs.tuning[.softmaxGroup]
        try launch(.softmaxRows, global: rows * group, local: group,
                   [.buffer(try buffer(x)), .buffer(try buffer(out)), .int(columns)])
    }
}
