import Testing
@testable import VitreousTensor
import VitreousTesting

/// Element-wise ops and softmax on every backend against the float64 reference. Sizes include counts
/// that are not multiples of the vector width, so the scalar tails run too.
@Suite("Element-wise")
struct ElementwiseTests {
    static let shapes: [[Int]] = [[1, 64], [5, 384], [257, 1536], [261, 67], [1370, 384], [3, 1, 5], [7]]

    /// Bound 1e-6 relative L2 (erf approximations are within a few ulp).
    @Test("gelu", arguments: testDevices)
    func geluMatchesReference(device: Device) throws {
        for shape in Self.shapes {
            var random = TestRandom()
            let x = random.normal(shape.reduce(1, *), std: 3)
            let out = try gelu(try Tensor(x, shape: shape, on: device))
            try expectClose(out, x.map { Reference.gelu(Double($0)) }, bound: 1e-6,
                            "\(device) \(shape) seed \(random.seed)")
        }
    }

    /// Bound 1e-7: one float32 rounding per element.
    @Test("add and layerScale", arguments: testDevices)
    func addAndLayerScale(device: Device) throws {
        for shape in Self.shapes {
            var random = TestRandom()
            let count = shape.reduce(1, *), columns = shape.last ?? 1
            let a = random.normal(count), b = random.normal(count), gamma = random.normal(columns, std: 0.3)
            let (ta, tb) = (try Tensor(a, shape: shape, on: device), try Tensor(b, shape: shape, on: device))
            let context = "\(device) \(shape) seed \(random.seed)"
            try expectClose(try add(ta, tb), zip(a, b).map { Double($0) + Double($1) }, bound: 1e-7, context)
            let scaled = try layerScale(ta, gamma: try Tensor(gamma, shape: [columns], on: device), residual: tb)
            try expectClose(scaled, Reference.layerScale(a.doubles, gamma: gamma.doubles, residual: b.doubles,
                                                         columns: columns), bound: 2e-7, context)
        }
    }

    /// Bound 1e-6 relative L2; every row sums to 1.
    @Test("softmax", arguments: testDevices)
    func softmaxMatchesReference(device: Device) throws {
        for shape in Self.shapes + [[6, 1370], [2, 257]] {
            var random = TestRandom()
            let x = random.normal(shape.reduce(1, *), std: 4)
            let out = try softmax(try Tensor(x, shape: shape, on: device))
            let columns = shape.last ?? 1
            try expectClose(out, Reference.softmax(x.doubles, columns: columns), bound: 1e-6,
                            "\(device) \(shape) seed \(random.seed)")
            let values = try out.toArray()
            for row in 0..<(values.count / columns) {
                let total = values[(row * columns)..<((row + 1) * columns)].reduce(0, +)
                #expect(abs(total - 1) < 1e-5)
            }
        }
    }

    @Test("empty tensors give empty results", arguments: testDevices)
    func emptyTensors(device: Device) throws {
        let empty = try Tensor([], shape: [0, 8], on: device)
        #expect(try gelu(empty).shape == [0, 8])
        #expect(try add(empty, empty).toArray().isEmpty)
        #expect(try softmax(empty).count == 0)
    }
}
