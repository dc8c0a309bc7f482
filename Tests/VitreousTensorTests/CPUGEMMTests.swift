import Testing
@testable import VitreousTensor
import VitreousTesting

/// The CPU backend's own GEMM (CVitreousCPU's gemm.c, behind `linear` on the CPU) at every instruction-set
/// level: each epilogue against the float64 reference on shapes that are multiples of no tile or block size
/// (M, N, K of 1, 7, 65, 257 …; edge tiles of every register-row count the GEMM has, 2, 4, 8 and 14; K past one and two depth blocks of 768; weights large enough that packing is
/// split over the cores), outputs NaN-poisoned, and every level against the baseline within 1e-5 relative.
/// Bound: 2e-5 relative L2, as for linear on every backend (float32 sums of ≤ 1601 terms stay near 1e-6).
@Suite("CPU GEMM")
struct CPUGEMMTests {
    static let shapes: [(rows: Int, inFeatures: Int, outFeatures: Int)] = [
        (1, 1, 1), (1, 257, 7), (7, 333, 65), (7, 333, 1153), (257, 65, 1153), (15, 769, 33), (29, 1601, 47),
        (150, 384, 97), (3, 65, 33), (5, 129, 70), (12, 97, 40),
    ]

    @Test("linear at every level: no bias, bias, bias + GELU", arguments: [false, true], Activation.allCases)
    func epilogues(bias withBias: Bool, activation: Activation) throws {
        _ = testDevices  // switches NaN poisoning on
        for shape in Self.shapes {
            var random = TestRandom()
            let x = random.normal(shape.rows * shape.inFeatures, std: 2)
            let w = random.normal(shape.outFeatures * shape.inFeatures, std: 0.1)
            let b = withBias ? random.normal(shape.outFeatures) : nil
            let tx = try Tensor(x, shape: [shape.rows, shape.inFeatures], on: .cpu)
            let tw = try Tensor(w, shape: [shape.outFeatures, shape.inFeatures], on: .cpu)
            let tb = try b.map { try Tensor($0, shape: [shape.outFeatures], on: .cpu) }
            let reference = Reference.linear(x.doubles, weight: w.doubles, bias: b?.doubles, rows: shape.rows,
                                             inFeatures: shape.inFeatures, outFeatures: shape.outFeatures,
                                             activation: activation)
            var baseline: [Float]?
            for level in CPUInstructionSet.supported {
                let values = try CPUInstructionSet.with(level) {
                    try linear(tx, weight: tw, bias: tb, activation: activation).toArray()
                }
                let context = "\(shape) bias \(withBias) \(activation) at \(level), seed \(random.seed)"
                let error = Reference.relativeError(values, reference)
                #expect(error <= 2e-5, "\(context): relative error \(error)")
                if let baseline {
                    let agreement = Reference.relativeError(values, baseline.doubles)
                    #expect(agreement <= 1e-5, "\(context): differs from the baseline by \(agreement)")
                } else {
                    baseline = values
                }
            }
        }
    }

    @Test("a weight is packed once per level and stays correct when the level changes")
    func packedWeightReuse() throws {
        _ = testDevices
        var random = TestRandom()
        let (rows, inFeatures, outFeatures) = (37, 129, 71)
        let x = random.normal(rows * inFeatures), w = random.normal(outFeatures * inFeatures, std: 0.1)
        let tw = try Tensor(w, shape: [outFeatures, inFeatures], on: .cpu)
        let reference = Reference.linear(x.doubles, weight: w.doubles, bias: nil, rows: rows, inFeatures: inFeatures,
                                         outFeatures: outFeatures)
        let tx = try Tensor(x, shape: [rows, inFeatures], on: .cpu)
        for level in CPUInstructionSet.supported + CPUInstructionSet.supported.reversed() {
            let out = try CPUInstructionSet.with(level) { try linear(tx, weight: tw) }
            try expectClose(out, reference, bound: 2e-5, "\(level) seed \(random.seed)")
            let packed = try #require((tw.storage as? HostStorage)?.packedWeight)
            #expect(packed.level == level && packed.n == outFeatures && packed.k == inFeatures)
        }
        // The same storage reshaped as another weight is packed for that shape.
        let reshaped = try tw.reshaped([inFeatures, outFeatures])
        let y = try Tensor(random.normal(3 * outFeatures), shape: [3, outFeatures], on: .cpu)
        let yValues = try y.toArray()
        try expectClose(try linear(y, weight: reshaped), Reference.linear(
            yValues.doubles, weight: w.doubles, bias: nil, rows: 3, inFeatures: outFeatures, outFeatures: inFeatures),
            bound: 2e-5, "reshaped weight, seed \(random.seed)")
    }
}
