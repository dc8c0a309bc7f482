// softmax as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation,
// and the dispatch to the OpenCL launcher in OpenCL/OpenCLSoftmax.swift.
import CVitreousCPU

/// Softmax over the last axis. A row of all −∞ gives NaN, as PyTorch does.
public func softmax(_ x: Tensor) throws -> Tensor {
    let backend = try commonBackend("softmax", x)
    try requireRank(x, atLeast: 1, "x", "softmax")
    let columns = x.shape[x.rank - 1]
    let out = try backend.empty(shape: x.shape)
    guard columns > 0 else { return out }
    switch backend.kind {
    case .cpu(let cpu): try cpu.softmax(x, rows: x.count / columns, columns: columns, out: out)
    case .openCL(let openCL): try openCL.softmax(x, rows: x.count / columns, columns: columns, out: out)
    }
    return out
}

extension CPUBackend {
    /// Softmax over each of `rows` rows of `columns`, split over the cores by rows.
    func softmax(_ x: Tensor, rows: Int, columns: Int, out: Tensor) throws {
        let px = SendablePointer(try host(x)), py = SendablePointer(try host(out))
        let kernels = CPUInstructionSet.kernels
        parallelFor(rows, grain: max(1, 4_096 / max(columns, 1))) { range in
            let offset = range.lowerBound * columns
            kernels.softmax_rows(px.base + offset, py.base + offset, range.count, columns)
        }
    }
}
