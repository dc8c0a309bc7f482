import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

/// The CPU kernels at every instruction-set level this machine has: each op against the float64 reference
/// at its usual bound, and every level against the baseline within 1e-5 relative. (Scripts/test.sh also
/// reruns the whole CPU op suite with VITREOUS_CPU_ISA set to each lower level.)
@Suite("CPU instruction sets")
struct InstructionSetTests {
    /// One op's output at each supported level, checked against `reference` and against the baseline's.
    private func check(_ name: String, bound: Double, reference: [Double], seed: UInt64,
                       _ op: () throws -> [Float]) throws {
        var outputs: [(CPUInstructionSet, [Float])] = []
        for level in CPUInstructionSet.supported {
            let values = try CPUInstructionSet.with(level, op)
            let error = Reference.relativeError(values, reference)
            #expect(error <= bound, "\(name) at \(level): relative error \(error) > \(bound), seed \(seed)")
            outputs.append((level, values))
        }
        guard let (_, baseline) = outputs.first else { return }
        for (level, values) in outputs.dropFirst() {
            let agreement = Reference.relativeError(values, baseline.map(Double.init))
            #expect(agreement <= 1e-5, "\(name): \(level) vs baseline differ by \(agreement), seed \(seed)")
        }
    }

    @Test("the supported levels include the baseline and what the CPU reports")
    func supportedLevels() {
        #expect(CPUInstructionSet.supported.first == .baseline)
        #expect(CPUInstructionSet.supported.contains(CPUInstructionSet.best))
        #if arch(x86_64)
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if flags.contains(" avx512f") { #expect(CPUInstructionSet.best == .avx512) }
        #else
        #expect(CPUInstructionSet.supported == [.baseline])
        #endif
    }

    @Test("VITREOUS_CPU_ISA values: levels parse, unknown or unsupported ones are one-line errors")
    func selection() {
        #expect((try? CPUInstructionSet.select(nil).get()) == CPUInstructionSet.best)
        #expect((try? CPUInstructionSet.select("BASELINE").get()) == .baseline)
        let unknown = message { _ = try CPUInstructionSet.select("sse9").get() }
        #expect(unknown.contains("VITREOUS_CPU_ISA=sse9") && unknown.contains("avx512, avx2 or baseline"))
        for level in CPUInstructionSet.allCases where !CPUInstructionSet.supported.contains(level) {
            let missing = message { _ = try CPUInstructionSet.select(level.rawValue).get() }
            #expect(missing.contains("lacks \(level)"))
        }
    }

    @Test("element-wise ops, norms and softmax agree across levels")
    func elementwise() throws {
        var random = TestRandom()
        let (rows, dim) = (37, 389)  // not multiples of any vector width
        let x = random.normal(rows * dim, std: 3), r = random.normal(rows * dim)
        let w = random.normal(dim, mean: 1, std: 0.2), b = random.normal(dim, std: 0.2)
        let gamma = random.normal(dim, std: 0.3)
        let tx = try Tensor(x, shape: [rows, dim], on: .cpu), tr = try Tensor(r, shape: [rows, dim], on: .cpu)
        let (tw, tb, tg) = (try Tensor(w, shape: [dim], on: .cpu), try Tensor(b, shape: [dim], on: .cpu),
                            try Tensor(gamma, shape: [dim], on: .cpu))
        let seed = random.seed
        try check("gelu", bound: 1e-6, reference: x.map { Reference.gelu(Double($0)) }, seed: seed) {
            try gelu(tx).toArray()
        }
        try check("add", bound: 1e-7, reference: zip(x, r).map { Double($0) + Double($1) }, seed: seed) {
            try add(tx, tr).toArray()
        }
        try check("layerScale", bound: 2e-7, reference: Reference.layerScale(
            x.doubles, gamma: gamma.doubles, residual: r.doubles, columns: dim), seed: seed) {
            try layerScale(tx, gamma: tg, residual: tr).toArray()
        }
        let sum = zip(x, r).map { Double($0) + Double($1) }
        try check("addLayerNorm", bound: 1e-6, reference: Reference.layerNorm(
            sum, weight: w.doubles, bias: b.doubles, dim: dim, eps: 1e-6), seed: seed) {
            try addLayerNorm(tx, residual: tr, weight: tw, bias: tb, eps: 1e-6).normalized.toArray()
        }
        let scaledSum = Reference.layerScale(x.doubles, gamma: gamma.doubles, residual: r.doubles, columns: dim)
        try check("layerScaleNorm", bound: 1e-5, reference: Reference.layerNorm(
            scaledSum, weight: w.doubles, bias: b.doubles, dim: dim, eps: 1e-6), seed: seed) {
            try layerScaleNorm(tx, gamma: tg, residual: tr, weight: tw, bias: tb).normalized.toArray()
        }
        try check("softmax", bound: 1e-6, reference: Reference.softmax(x.doubles, columns: dim), seed: seed) {
            try softmax(tx).toArray()
        }
        let norms = (0..<rows).map { row in
            (0..<dim).reduce(0.0) { $0 + Double(x[row * dim + $1]) * Double(x[row * dim + $1]) }.squareRoot()
        }
        try check("tokenNorms", bound: 1e-6, reference: norms, seed: seed) {
            try tokenNorms(tx).norms.toArray()
        }
        let weight = random.normal(53 * dim, std: 0.05), bias = random.normal(53, std: 0.1)
        let (tW, tB) = (try Tensor(weight, shape: [53, dim], on: .cpu), try Tensor(bias, shape: [53], on: .cpu))
        let linearReference = Reference.linear(x.doubles, weight: weight.doubles, bias: bias.doubles, rows: rows,
                                               inFeatures: dim, outFeatures: 53).map(Reference.gelu)
        try check("linear + bias + gelu", bound: 1e-5, reference: linearReference, seed: seed) {
            try linear(tx, weight: tW, bias: tB, activation: .gelu).toArray()
        }
        let glu = random.normal(rows * 2 * 45, std: 2)
        try check("swiglu", bound: 1e-6, reference: Reference.swiglu(glu.doubles, hidden: 45), seed: seed) {
            try swiglu(try Tensor(glu, shape: [rows, 90], on: .cpu)).toArray()
        }
    }

    @Test("fused attention and its probability rows agree across levels", arguments: [23, 257])
    func attentionLevels(tokens: Int) throws {
        var random = TestRandom()
        let (heads, headDim) = (3, 64)
        let width = heads * headDim
        let q = random.normal(2 * tokens * width), k = random.normal(2 * tokens * width)
        let v = random.normal(2 * tokens * width)
        let shape = [2, tokens, width]
        let (tq, tk, tv) = (try Tensor(q, shape: shape, on: .cpu), try Tensor(k, shape: shape, on: .cpu),
                            try Tensor(v, shape: shape, on: .cpu))
        let scale = 1 / Double(headDim).squareRoot()
        let reference = Reference.attention(q: q.doubles, k: k.doubles, v: v.doubles, batch: 2, tokens: tokens,
                                            heads: heads, headDim: headDim, scale: scale, queryRows: [0])
        let all = Reference.attention(q: q.doubles, k: k.doubles, v: v.doubles, batch: 2, tokens: tokens,
                                      heads: heads, headDim: headDim, scale: scale)
        try check("attention T=\(tokens)", bound: 1e-5, reference: all.output, seed: random.seed) {
            try attention(q: tq, k: tk, v: tv, heads: heads).output.toArray()
        }
        try check("attention CLS probabilities T=\(tokens)", bound: 1e-5, reference: reference.probabilities,
                  seed: random.seed) {
            guard let probabilities = try attention(q: tq, k: tk, v: tv, heads: heads, probabilities: .cls)
                .probabilities else { return [] }
            return try probabilities.toArray()
        }
    }

    @Test("patchify is a copy at every level")
    func patchifyLevels() throws {
        var random = TestRandom()
        let images = random.normal(2 * 3 * 28 * 42)
        let reference = Reference.patchify(images.doubles, batch: 2, channels: 3, height: 28, width: 42, patch: 14)
        try check("patchify", bound: 0, reference: reference, seed: random.seed) {
            try patchify(try Tensor(images, shape: [2, 3, 28, 42], on: .cpu), patch: 14).toArray()
        }
    }
}
