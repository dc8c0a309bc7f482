// add as one unit (the recipe of AddingAnOp.md): the public op with its check, the CPU implementation, and the
// dispatch to the OpenCL launcher in OpenCL/OpenCLAdd.swift.
import CVitreousCPU

/// Element-wise sum of two tensors of the same shape.
public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let backend = try commonBackend("add", a, b)
    try requireShape(b, a.shape, "b", "add")
    let out = try backend.empty(shape: a.shape)
    switch backend.kind {
    case .cpu(let cpu): try cpu.add(a, b, out: out)
    case .openCL(let openCL): try openCL.add(a, b, out: out)
    }
    return out
}

extension CPUBackend {
    /// Element-wise sum of two tensors of equal count, split over the cores.
    func add(_ a: Tensor, _ b: Tensor, out: Tensor) throws {
        let pa = SendablePointer(try host(a)), pb = SendablePointer(try host(b))
        let py = SendablePointer(try host(out))
        let kernels = CPUInstructionSet.kernels
        CPUKernels.elementwise(a.count) { range in
            let i = range.lowerBound
            kernels.add(pa.base + i, pb.base + i, py.base + i, range.count)
        }
    }
}
