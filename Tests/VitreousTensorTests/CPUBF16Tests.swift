import CVitreousCPU
import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

/// The CPU's bf16 path (``Precision/bf16``): the rounding against ml_dtypes, the bf16 GEMM at every
/// instruction-set level and with VDPBF16PS where the CPU has it, the bf16 attention, and the weight tensor
/// `linearWeight` makes.
///
/// Bounds, relative L2:
/// - 2e-5 against the float64 reference on the bf16-rounded operands: then every product is exact and only the
///   float32 sums round, as in the float32 GEMM's own bound.
/// - Against the float64 reference on the float32 operands, element by element: 1.13·(2⁻⁷ + 2⁻¹⁶)·Σ|x||w| (each
///   operand moves by up to 2⁻⁸ relative when rounded: bf16 keeps 8 significant bits; GELU's slope is at most 1.13), plus float32's own error.
/// - 1e-6 between VDPBF16PS and its emulation in the GEMM (both add the odd product and then the even one, each
///   exact); 1e-4 in the attention, where the scores' float32 sums differ in order and so round a few softmax
///   numerators to the other neighbouring bf16.
@Suite("CPU bf16")
struct CPUBF16Tests {
    static let shapes: [(rows: Int, inFeatures: Int, outFeatures: Int)] = [
        (1, 1, 1), (1, 257, 7), (7, 333, 65), (257, 65, 1153), (15, 769, 33), (29, 1601, 47), (150, 384, 97),
        (3, 65, 33), (5, 129, 70), (12, 97, 40), (13, 1536, 384),
    ]

    /// The kernels each test runs: every level emulated, and VDPBF16PS when the CPU has it.
    static var kernels: [(level: CPUInstructionSet, native: Bool)] {
        CPUInstructionSet.supported.map { ($0, false) } + (Precision.cpuHasNativeBF16 ? [(.avx512, true)] : [])
    }

    static func rounded(_ values: [Float]) -> [Float] { values.map(vk_bf16_round_float) }

    @Test("rounding to bf16 matches ml_dtypes bit for bit (ties to even, denormals, overflow to infinity)")
    func rounding() {
        for (bits, expected) in bf16RoundingFixture {
            let rounded = vk_bf16_round_float(Float(bitPattern: bits)).bitPattern
            #expect(rounded & 0xFFFF == 0, "0x\(String(bits, radix: 16)): low half not cleared")
            #expect(UInt16(rounded >> 16) == expected,
                    "0x\(String(bits, radix: 16)) → 0x\(String(rounded >> 16, radix: 16)), ml_dtypes 0x\(String(expected, radix: 16))")
        }
        #expect(vk_bf16_round_float(.nan).isNaN && vk_bf16_round_float(-.nan).isNaN)
        #expect(vk_bf16_round_float(Float(bitPattern: 0x7F80_0001)).isNaN)  // a signalling NaN stays a NaN
    }

    @Test("bf16 linear at every level and natively: no bias, bias, bias + GELU", arguments: [false, true],
          Activation.allCases)
    func epilogues(bias withBias: Bool, activation: Activation) throws {
        _ = testDevices  // switches NaN poisoning on
        for shape in Self.shapes {
            var random = TestRandom()
            let x = random.normal(shape.rows * shape.inFeatures, std: 2)
            let w = random.normal(shape.outFeatures * shape.inFeatures, std: 0.1)
            let b = withBias ? random.normal(shape.outFeatures) : nil
            let tx = try Tensor(x, shape: [shape.rows, shape.inFeatures], on: .cpu)
            let tw = try linearWeight(try Tensor(w, shape: [shape.outFeatures, shape.inFeatures], on: .cpu),
                                      precision: .bf16)
            let tb = try b.map { try Tensor($0, shape: [shape.outFeatures], on: .cpu) }
            func reference(_ x: [Float], _ w: [Float]) -> [Double] {
                Reference.linear(x.doubles, weight: w.doubles, bias: b?.doubles, rows: shape.rows,
                                 inFeatures: shape.inFeatures, outFeatures: shape.outFeatures, activation: activation)
            }
            let exact = reference(Self.rounded(x), Self.rounded(w)), float32 = reference(x, w)
            // Σ|x||w| per output: the float32 reference on the operands' magnitudes.
            let scales = Reference.linear(x.map { Double(abs($0)) }, weight: w.map { Double(abs($0)) }, bias: nil,
                                          rows: shape.rows, inFeatures: shape.inFeatures, outFeatures: shape.outFeatures)
            var emulated: [Float]?
            for (level, native) in Self.kernels {
                let values = try CPUInstructionSet.with(level) {
                    try BF16Kernels.with(native: native) {
                        try linear(tx, weight: tw, bias: tb, activation: activation).toArray()
                    }
                }
                let context = "\(shape) bias \(withBias) \(activation) at \(level)\(native ? " native" : ""), seed \(random.seed)"
                #expect(!values.contains { $0.isNaN }, "\(context): an output element was never written")
                let error = Reference.relativeError(values, exact)
                #expect(error <= 2e-5, "\(context): relative error \(error) on the rounded operands")
                // Against float32, element by element: rounding moves each operand by at most 2⁻⁸ relative (half
                // an ulp of 8 significant bits), so each product by at most (2⁻⁷ + 2⁻¹⁶)·|x||w|; GELU's slope is at most 1.13. A relative norm is no
                // bound here: with few outputs a sum can cancel to near zero.
                for (index, value) in values.enumerated() {
                    let column = index % shape.outFeatures, scale = scales[index]
                    let bound = 1.13 * (0x1p-7 + 0x1p-16) * scale + 1e-5 * (scale + abs(Double(b?[column] ?? 0)) + 1)
                    if abs(Double(value) - float32[index]) > bound {
                        Issue.record("\(context): output \(index) is \(value), float32 \(float32[index]), beyond \(bound)")
                        break
                    }
                }
                if native, let emulated {
                    let agreement = Reference.relativeError(values, emulated.doubles)
                    #expect(agreement <= 1e-6, "\(context): VDPBF16PS and its emulation differ by \(agreement)")
                }
                if level == .avx512 && !native { emulated = values }
            }
        }
    }

    @Test("a bf16 weight holds half the bytes, reads back rounded, repacks across levels, and only linear takes it")
    func weightTensor() throws {
        _ = testDevices
        var random = TestRandom()
        let (rows, inFeatures, outFeatures) = (37, 129, 71)
        let w = random.normal(outFeatures * inFeatures, std: 0.1), x = random.normal(rows * inFeatures)
        let float32 = try Tensor(w, shape: [outFeatures, inFeatures], on: .cpu)
        let weight = try linearWeight(float32, precision: .bf16)
        #expect(weight.precision == .bf16 && float32.precision == .fp32 && weight.shape == float32.shape)
        #expect(try weight.toArray() == Self.rounded(w))
        #expect(try linearWeight(weight, precision: .bf16).storage === weight.storage)
        #expect(try linearWeight(float32, precision: .fp32).storage === float32.storage)
        let storage = try #require(weight.storage as? BF16WeightStorage)
        let packed = try storage.packed(nr: BF16Kernels.current.nr)
        #expect(packed.nr * ((outFeatures + packed.nr - 1) / packed.nr) * ((inFeatures + 1) / 2) * 2
                    <= (outFeatures + packed.nr) * (inFeatures + 1), "more than half the float32 bytes")
        let reference = Reference.linear(Self.rounded(x).doubles, weight: Self.rounded(w).doubles, bias: nil,
                                         rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
        let tx = try Tensor(x, shape: [rows, inFeatures], on: .cpu)
        for level in CPUInstructionSet.supported + CPUInstructionSet.supported.reversed() {
            let out = try CPUInstructionSet.with(level) { try linear(tx, weight: weight) }
            try expectClose(out, reference, bound: 2e-5, "\(level) seed \(random.seed)")
        }
        #expect(try weight.toArray() == Self.rounded(w), "repacking changed the values")
        #expect(throws: VitreousError.self) { try gelu(weight) }
        #expect(throws: VitreousError.self) { try weight.copy() }
        #expect(throws: VitreousError.self) { try linearWeight(float32, precision: .fp16) }
    }

    @Test("bf16 attention: outputs near the reference on the rounded operands at every level")
    func attentionProducts() throws {
        NaNPoisoning.isEnabled = true
        var random = TestRandom()
        for (batch, tokens, heads, headDim) in [(2, 23, 3, 64), (1, 257, 6, 64), (1, 130, 2, 80), (3, 37, 3, 7)] {
            let width = heads * headDim
            let values = random.normal(batch * tokens * 3 * width)
            let qkv = try Tensor(values, shape: [batch, tokens, 3 * width], on: .cpu)
            let scale = 1 / Double(headDim).squareRoot()
            func reference(_ values: [Float]) -> [Double] {
                let (q, k, v) = AttentionTests.split(values, batch: batch, tokens: tokens, width: width)
                return Reference.attention(q: q, k: k, v: v, batch: batch, tokens: tokens, heads: heads,
                                           headDim: headDim, scale: scale, keyMask: nil,
                                           queryRows: Array(0..<tokens)).output
            }
            let exact = reference(Self.rounded(values)), float32 = reference(values)
            // Σⱼ aᵢⱼ|vⱼ| per output element, from the rounded operands: what one bf16 rounding of each numerator
            // can move an output by.
            let (_, _, roundedV) = AttentionTests.split(Self.rounded(values), batch: batch, tokens: tokens, width: width)
            let (q, k, _) = AttentionTests.split(Self.rounded(values), batch: batch, tokens: tokens, width: width)
            let probabilities = Reference.attention(q: q, k: k, v: roundedV, batch: batch, tokens: tokens, heads: heads,
                                                    headDim: headDim, scale: scale).probabilities
            var magnitude = [Double](repeating: 0, count: batch * tokens * width)
            for b in 0..<batch {
                for h in 0..<heads {
                    for i in 0..<tokens {
                        let row = ((b * heads + h) * tokens + i) * tokens
                        for j in 0..<tokens {
                            let a = probabilities[row + j]
                            for c in 0..<headDim {
                                magnitude[(b * tokens + i) * width + h * headDim + c] += a * abs(roundedV[(b * tokens + j) * width + h * headDim + c])
                            }
                        }
                    }
                }
            }
            var emulated: [Float]?
            for (level, native) in Self.kernels {
                let context = "\(level)\(native ? " native" : "") \(batch)×\(tokens), \(heads)×\(headDim), seed \(random.seed)"
                let output = try CPUInstructionSet.with(level) {
                    try BF16Kernels.with(native: native) {
                        try qkv.attention(heads: heads, precision: .bf16).output.toArray()
                    }
                }
                if native, let emulated {
                    // The same rounded operands; the float32 sums differ in order and in where the scale applies,
                    // by ~1e-7, which now and then moves a numerator across a bf16 rounding boundary, to the
                    // neighbouring bf16 value: at most 2⁻⁷ of that numerator, and as much again through the
                    // denominator. So per element |Δo| ≤ 2⁻⁶·Σⱼ aᵢⱼ|vⱼ| (plus float32 noise) always holds; a wrong
                    // head, row or key moves an output by about Σⱼ aᵢⱼ|vⱼ| itself.
                    for (index, value) in output.enumerated() {
                        let bound = (0x1p-6 + 1e-5) * magnitude[index] + 1e-6
                        if abs(Double(value) - Double(emulated[index])) > bound {
                            Issue.record("\(context): output \(index) is \(value) natively, \(emulated[index]) emulated, beyond \(bound)")
                            break
                        }
                    }
                    // In norm the flips are rare: 1e-7 to 5e-5 relative on most seeds, 1.0e-4 on the 130-token case
                    // of seed 12349144611436613790 (where the elements stay under 4 % of the bound above); 1e-3
                    // leaves room for unlucky seeds and still catches a systematic difference.
                    let agreement = Reference.relativeError(output, emulated.doubles)
                    #expect(agreement <= 1e-3, "\(context): VDPBF16PS and its emulation differ by \(agreement)")
                }
                if level == .avx512 && !native { emulated = output }
                #expect(!output.contains { $0.isNaN }, "\(context): an output element was never written")
                // Only the softmax numerators round beyond the operands: 2⁻⁸ relative each, averaged by P·V.
                let error = Reference.relativeError(output, exact)
                #expect(error <= 4e-3, "\(context): relative error \(error) on the rounded operands")
                let drift = Reference.relativeError(output, float32)
                #expect(drift <= 2e-2, "\(context): relative error \(drift) against float32")
                let plain = try CPUInstructionSet.with(level) { try qkv.attention(heads: heads).output.toArray() }
                #expect(Reference.relativeError(plain, float32) <= 1e-5, "\(context): fp32 attention changed")
            }
        }
    }

    @Test("precision names parse, auto follows the CPU, and each precision runs only where it belongs")
    func parsing() throws {
        #expect(try Precision.parse("BF16", for: .cpu) == .bf16)
        #expect(try Precision.parse("fp32", for: .cpu) == .fp32)
        #expect(try Precision.parse("auto", for: .cpu) == (Precision.cpuHasNativeBF16 ? .bf16 : .fp32))
        #expect(Precision.automatic(for: .openCL(0)) == .fp32)
        #expect(throws: VitreousError.self) { try Precision.parse("fp8", for: .cpu) }
        #expect(throws: VitreousError.self) { try Precision.parse("fp16", for: .cpu) }
        #expect(throws: VitreousError.self) { try Precision.parse("bf16", for: .openCL(0)) }
        #expect(BF16Kernels.select("emulated") == .success(false))
        #expect(BF16Kernels.select(nil) == .success(true))
        #expect((try? BF16Kernels.select("fast").get()) == nil)
        let native = vk_bf16_native_supported() != 0
        #expect(String(cString: vk_gemm_bf16_kernels_for(VK_LEVEL_AVX512, 1).pointee.name)
                    == (native ? "avx512bf16" : CPUInstructionSet.supported.contains(.avx512) ? "avx512" : "baseline"))
    }
}
