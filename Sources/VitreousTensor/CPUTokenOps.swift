import CVitreousCPU
import Foundation

/// Token layout ops on the host: plain copies (C loops), split over cores.
extension CPUBackend {
    public func patchify(_ images: Tensor, batch: Int, channels: Int, height: Int, width: Int, patch: Int,
                         out: Tensor) throws {
        let source = SendablePointer(try host(images)), target = SendablePointer(try host(out))
        let rows = batch * (height / patch) * (width / patch)
        parallelFor(rows, grain: 16) { range in
            vk_patchify_rows(source.base, channels, height, width, patch, range.lowerBound, range.upperBound,
                             target.base)
        }
    }

    public func assembleTokens(patches: Tensor, cls: Tensor, registers: Tensor?, positions: Tensor, batch: Int,
                               registerCount: Int, patchCount: Int, extraCount: Int, dim: Int, out: Tensor) throws {
        let (pp, pc, pos) = (SendablePointer(try host(patches)), SendablePointer(try host(cls)),
                             SendablePointer(try host(positions)))
        let pr = try registers.map { SendablePointer(try host($0)) }
        let target = SendablePointer(try host(out))
        let tokens = 1 + registerCount + patchCount + extraCount
        parallelFor(batch * tokens, grain: 64) { range in
            for row in range {
                let (b, t) = (row / tokens, row % tokens)
                let y = target.base + row * dim
                if t == 0 {
                    for d in 0..<dim { y[d] = pc[d] + pos[d] }
                } else if t <= registerCount, let pr {
                    y.update(from: pr.base + (t - 1) * dim, count: dim)
                } else if t <= registerCount + patchCount {
                    let p = t - 1 - registerCount
                    let (x, e) = (pp.base + (b * patchCount + p) * dim, pos.base + (1 + p) * dim)
                    for d in 0..<dim { y[d] = x[d] + e[d] }
                } else {
                    y.update(repeating: 0, count: dim)
                }
            }
        }
    }

    public func sliceTokens(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>, out: Tensor) throws {
        let (source, target) = (try host(x), try host(out))
        for b in 0..<batch {
            (target + b * range.count * dim).update(from: source + (b * tokens + range.lowerBound) * dim,
                                                    count: range.count * dim)
        }
    }

    public func swiglu(_ x: Tensor, rows: Int, hidden: Int, out: Tensor) throws {
        let (source, target) = (SendablePointer(try host(x)), SendablePointer(try host(out)))
        let kernels = CPUInstructionSet.kernels
        parallelFor(rows, grain: max(1, 8_192 / max(hidden, 1))) { range in
            kernels.swiglu_rows(source.base + range.lowerBound * 2 * hidden, target.base + range.lowerBound * hidden,
                                range.count, hidden)
        }
    }
}
