import Testing
@testable import VitreousTensor
import VitreousTesting

@Suite("Token layout")
struct TokenOpsTests {
    @Test("patchify is the im2col of a stride-14 convolution", arguments: testDevices)
    func patchifyMatchesReference(device: Device) throws {
        for (batch, height, width) in [(1, 14, 14), (2, 56, 84), (1, 224, 224)] {
            var random = TestRandom()
            let images = random.normal(batch * 3 * height * width)
            let out = try patchify(try Tensor(images, shape: [batch, 3, height, width], on: device), patch: 14)
            #expect(out.shape == [batch, (height / 14) * (width / 14), 588])
            let reference = Reference.patchify(images.doubles, batch: batch, channels: 3, height: height, width: width,
                                               patch: 14)
            #expect(try out.toArray().doubles == reference, "\(device) \(batch)×\(height)×\(width)")
        }
        #expect(throws: VitreousError.self) { try patchify(try .zeros(shape: [1, 3, 15, 14], on: device), patch: 14) }
    }

    @Test("token assembly: CLS + pos, registers without pos, patches + pos, zero extras", arguments: testDevices)
    func assemble(device: Device) throws {
        var random = TestRandom()
        let (batch, count, dim, registers, extra) = (2, 6, 5, 4, 1)
        let patches = random.normal(batch * count * dim), cls = random.normal(dim)
        let regs = random.normal(registers * dim), positions = random.normal((1 + count) * dim)
        let out = try assembleTokens(patches: try Tensor(patches, shape: [batch, count, dim], on: device),
                                     cls: try Tensor(cls, shape: [dim], on: device),
                                     registers: try Tensor(regs, shape: [registers, dim], on: device),
                                     positions: try Tensor(positions, shape: [1 + count, dim], on: device),
                                     extraTokens: extra)
        let tokens = 1 + registers + count + extra
        #expect(out.shape == [batch, tokens, dim])
        var expected: [Float] = []
        for b in 0..<batch {
            expected += (0..<dim).map { cls[$0] + positions[$0] }
            expected += regs
            for p in 0..<count { expected += (0..<dim).map { patches[(b * count + p) * dim + $0] + positions[(1 + p) * dim + $0] } }
            expected += [Float](repeating: 0, count: extra * dim)
        }
        #expect(try out.toArray() == expected)
        let middle = try sliceTokens(out, 1..<(1 + registers))
        #expect(middle.shape == [batch, registers, dim])
        #expect(try middle.toArray() == regs + regs)
        #expect(throws: VitreousError.self) { try sliceTokens(out, 3..<99) }
    }

    /// Bound 1e-6 relative L2 (vectorised exp within a few ulp).
    @Test("swiglu", arguments: testDevices)
    func swigluMatchesReference(device: Device) throws {
        for (rows, hidden) in [(1, 4), (257, 96), (5, 13)] {
            var random = TestRandom()
            let x = random.normal(rows * 2 * hidden, std: 4)
            let out = try swiglu(try Tensor(x, shape: [rows, 2 * hidden], on: device))
            #expect(out.shape == [rows, hidden])
            try expectClose(out, Reference.swiglu(x.doubles, hidden: hidden), bound: 1e-6,
                            "\(device) \(rows)×\(hidden) seed \(random.seed)")
        }
    }
}
