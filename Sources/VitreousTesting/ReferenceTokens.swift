import Foundation
import VitreousTensor

extension Reference {
    /// Rows `[batch, gh·gw, channels·patch·patch]` of images `[batch, channels, height, width]`.
    public static func patchify(_ images: [Double], batch: Int, channels: Int, height: Int, width: Int,
                                patch: Int) -> [Double] {
        let (gh, gw) = (height / patch, width / patch)
        var out: [Double] = []
        out.reserveCapacity(images.count)
        for b in 0..<batch {
            for py in 0..<gh {
                for px in 0..<gw {
                    for c in 0..<channels {
                        for ky in 0..<patch {
                            for kx in 0..<patch {
                                out.append(images[((b * channels + c) * height + py * patch + ky) * width + px * patch + kx])
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `x·sigmoid(x)`.
    public static func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }

    /// `silu(gate) ⊙ up` for rows `[gate | up]`.
    public static func swiglu(_ x: [Double], hidden: Int) -> [Double] {
        (0..<(x.count / 2)).map { i in
            let (row, j) = (i / hidden, i % hidden)
            return silu(x[row * 2 * hidden + j]) * x[row * 2 * hidden + hidden + j]
        }
    }
}
