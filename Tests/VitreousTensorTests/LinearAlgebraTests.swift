import Testing
@testable import VitreousTensor
import VitreousTesting

/// GEMM-based ops on every backend against the float64 reference.
/// Bound: 2e-5 relative L2 — float32 accumulation over k ≤ 1536 terms stays near 1e-6.
@Suite("Linear algebra")
struct LinearAlgebraTests {
    static let linearShapes: [(rows: Int, inFeatures: Int, outFeatures: Int)] = [
        (1, 64, 64), (5, 384, 1152), (257, 384, 384), (261, 67, 33), (1370, 64, 192), (3, 1536, 5),
    ]

    @Test("linear with bias and activation", arguments: testDevices, Activation.allCases)
    func linearMatchesReference(device: Device, activation: Activation) throws {
        for shape in Self.linearShapes {
            var random = TestRandom()
            let x = random.normal(shape.rows * shape.inFeatures)
            let w = random.normal(shape.outFeatures * shape.inFeatures, std: 0.05)
            let b = random.normal(shape.outFeatures)
            let out = try linear(try Tensor(x, shape: [shape.rows, shape.inFeatures], on: device),
                                 weight: try Tensor(w, shape: [shape.outFeatures, shape.inFeatures], on: device),
                                 bias: try Tensor(b, shape: [shape.outFeatures], on: device),
                                 activation: activation)
            #expect(out.shape == [shape.rows, shape.outFeatures])
            let reference = Reference.linear(x.doubles, weight: w.doubles, bias: b.doubles, rows: shape.rows,
                                             inFeatures: shape.inFeatures, outFeatures: shape.outFeatures,
                                             activation: activation)
            try expectClose(out, reference, bound: 2e-5, "\(device) \(shape) \(activation) seed \(random.seed)")
        }
    }

    @Test("linear without bias keeps leading axes", arguments: testDevices)
    func linearWithoutBias(device: Device) throws {
        var random = TestRandom()
        let x = random.normal(2 * 261 * 64), w = random.normal(96 * 64, std: 0.1)
        let out = try Tensor(x, shape: [2, 261, 64], on: device)
            .linear(weight: try Tensor(w, shape: [96, 64], on: device))
        #expect(out.shape == [2, 261, 96])
        let reference = Reference.linear(x.doubles, weight: w.doubles, bias: nil, rows: 2 * 261,
                                         inFeatures: 64, outFeatures: 96)
        try expectClose(out, reference, bound: 2e-5, "\(device) seed \(random.seed)")
    }

    @Test("matmul, shared and batched right operand", arguments: testDevices)
    func matmulMatchesReference(device: Device) throws {
        var random = TestRandom()
        for (batch, m, k, n) in [(1, 257, 64, 257), (3, 5, 64, 261), (2, 1370, 64, 7)] {
            let a = random.normal(batch * m * k), shared = random.normal(k * n), batched = random.normal(batch * k * n)
            let ta = try Tensor(a, shape: [batch, m, k], on: device)
            let sharedOut = try ta.matmul(try Tensor(shared, shape: [k, n], on: device))
            let batchedOut = try ta.matmul(try Tensor(batched, shape: [batch, k, n], on: device))
            #expect(sharedOut.shape == [batch, m, n] && batchedOut.shape == [batch, m, n])
            try expectClose(sharedOut, Reference.matmul(a.doubles, shared.doubles, batch: batch, m: m, n: n, k: k),
                            bound: 2e-5, "\(device) shared \(batch)×\(m)×\(k)×\(n) seed \(random.seed)")
            try expectClose(batchedOut, Reference.matmul(a.doubles, batched.doubles, batch: batch, m: m, n: n, k: k,
                                                         shareB: false),
                            bound: 2e-5, "\(device) batched \(batch)×\(m)×\(k)×\(n) seed \(random.seed)")
        }
    }

    @Test("empty inner axis gives zeros", arguments: testDevices)
    func matmulEmptyInnerAxis(device: Device) throws {
        let out = try matmul(try Tensor([], shape: [3, 0], on: device), try Tensor([], shape: [0, 4], on: device))
        #expect(try out.toArray() == [Float](repeating: 0, count: 12))
    }
}
