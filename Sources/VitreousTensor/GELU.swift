// gelu as one unit (the recipe of AddingAnOp.md): the public op, the CPU implementation, and the dispatch to the
// OpenCL launcher in OpenCL/OpenCLGELU.swift.
import CVitreousCPU

/// Exact GELU, `0.5·x·(1 + erf(x/√2))`, element-wise.
public func gelu(_ x: Tensor) throws -> Tensor {
    let backend = try commonBackend("gelu", x)
    let out = try backend.empty(shape: x.shape)
    switch backend.kind {
    case .cpu(let cpu): try cpu.gelu(x, out: out)
    case .openCL(let openCL): try openCL.gelu(x, out: out)
    }
    return out
}

extension CPUBackend {
    /// Element-wise exact GELU, split over the cores.
    func gelu(_ x: Tensor, out: Tensor) throws {
        let px = SendablePointer(try host(x)), py = SendablePointer(try host(out))
        let kernels = CPUInstructionSet.kernels
        CPUKernels.elementwise(x.count) { range in
            kernels.gelu(px.base + range.lowerBound, py.base + range.lowerBound, range.count)
        }
    }
}
