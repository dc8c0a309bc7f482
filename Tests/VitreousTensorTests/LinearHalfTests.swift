import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

/// The OpenCL devices of ``testDevices``: where fp16 weights run.
private var halfTestDevices: [Device] { testDevices.filter { $0 != .cpu } }

/// `linearWeight(_:precision: .fp16)` and the half-weight linear kernel (`Kernels/linear_half.cl`) on every OpenCL
/// device, against float64 references.
///
/// Bounds (relative L2):
/// - 1e-5 against the float64 product with the half-rounded weights: the only difference left is float32
///   accumulation over k ≤ 77 terms (measured ≤ 2.1e-7 on PoCL, CPU and GPU layouts). Where the device sums in
///   half (`cl_khr_fp16`), 4e-3: A rounded to half (u = 2⁻¹¹) and half sums of up to LH_TK terms per step.
/// - Against the float32 weights, per output: what rounding every weight by its largest possible error could do
///   (``roundingBounds(_:_:m:n:k:tight:)``), which cannot fail on a cancelling row as a relative bound could.
///   As relative L2 the difference is ≈ 2⁻¹¹/√3 ≈ 2.8e-4 for random signs (measured ≤ 8.3e-4 over these
///   shapes, the largest on the 1 × 5 × 3 ones).
@Suite("fp16 linear weights on OpenCL", .serialized)
struct LinearHalfTests {
    static let rows = [1, 7, 37, 257], outputs = [5, 33, 130], inputs = [3, 64, 77]

    /// How far each output may be from the float32 weights' exact product: rounding moves each weight by at most
    /// 2⁻¹¹ of itself (2⁻²⁵ absolutely where the half is subnormal), so output (i, j) moves by at most
    /// 2⁻¹¹ Σ|w||x| + 2⁻²⁵ Σ|x|, times GELU's steepest slope (1.129); plus the tight bound's share of Σ|w||x|
    /// for the float32 (or half) sums.
    static func roundingBounds(_ x: [Float], _ w: [Float], m: Int, n: Int, k: Int, tight: Double) -> [Double] {
        (0..<(m * n)).map { index in
            let (row, column) = index.quotientAndRemainder(dividingBy: n)
            var magnitude = 0.0, inputs = 0.0
            for p in 0..<k {
                magnitude += Double(abs(w[column * k + p]) * abs(x[row * k + p]))
                inputs += Double(abs(x[row * k + p]))
            }
            return 1.129 * (0x1p-11 * magnitude + 0x1p-25 * inputs) + tight * magnitude + 1e-30
        }
    }

    @Test("linear on an fp16 weight: odd sizes, with and without bias, identity and GELU")
    func linearMatchesReference() throws {
        #expect(!(Device.openCLDevices.isEmpty && runningInCI), "CI needs an OpenCL device")
        for device in halfTestDevices {
            let backend = try #require(try backend(for: device) as? OpenCLBackend)
            let tight = backend.halfLinearUsesHalfMath ? 4e-3 : 1e-5
            var shapes = 0
            for m in Self.rows {
                for n in Self.outputs {
                    for k in Self.inputs {
                        // Every shape with each of the four bias / activation combinations in turn.
                        let withBias = shapes % 2 == 0, activation: Activation = shapes / 2 % 2 == 0 ? .identity : .gelu
                        shapes += 1
                        var random = TestRandom()
                        let x = random.normal(m * k), w = random.normal(n * k, std: 0.2), b = random.normal(n)
                        let weight = try linearWeight(try Tensor(w, shape: [n, k], on: device), precision: .fp16)
                        let rounded = try weight.toArray()
                        let bias = withBias ? try Tensor(b, shape: [n], on: device) : nil
                        let out = try linear(try Tensor(x, shape: [m, k], on: device), weight: weight, bias: bias,
                                             activation: activation)
                        #expect(out.shape == [m, n])
                        let context = "\(device) m \(m) n \(n) k \(k) bias \(withBias) \(activation) seed \(random.seed)"
                        func reference(_ weights: [Float]) -> [Double] {
                            Reference.linear(x.doubles, weight: weights.doubles, bias: withBias ? b.doubles : nil,
                                             rows: m, inFeatures: k, outFeatures: n, activation: activation)
                        }
                        try expectClose(out, reference(rounded), bound: tight, "\(context) (half-rounded weights)")
                        let (values, exact) = (try out.toArray(), reference(w))
                        let bounds = Self.roundingBounds(x, w, m: m, n: n, k: k, tight: tight)
                        let outside = values.indices.filter { abs(Double(values[$0]) - exact[$0]) > bounds[$0] }
                        let first = outside.first.map { "\(values[$0]) vs \(exact[$0]) ± \(bounds[$0])" } ?? ""
                        #expect(outside.isEmpty,
                                "\(context) (float32 weights): \(outside.count) outputs beyond the rounding's reach: \(first)")
                    }
                }
            }
        }
    }

    @Test("the model's shapes and leading axes: [2, 257, 384] through a [1152, 384] fp16 weight")
    func modelShape() throws {
        for device in halfTestDevices {
            let backend = try #require(try backend(for: device) as? OpenCLBackend)
            var random = TestRandom()
            let x = random.normal(2 * 257 * 384), w = random.normal(1152 * 384, std: 0.05), b = random.normal(1152)
            let weight = try linearWeight(try Tensor(w, shape: [1152, 384], on: device), precision: .fp16)
            let out = try Tensor(x, shape: [2, 257, 384], on: device)
                .linear(weight: weight, bias: try Tensor(b, shape: [1152], on: device), activation: .gelu)
            #expect(out.shape == [2, 257, 1152])
            let reference = Reference.linear(x.doubles, weight: try weight.toArray().doubles, bias: b.doubles,
                                             rows: 2 * 257, inFeatures: 384, outFeatures: 1152, activation: .gelu)
            try expectClose(out, reference, bound: backend.halfLinearUsesHalfMath ? 4e-3 : 1e-5,
                            "\(device) seed \(random.seed)")
        }
    }

    /// Float32 inputs and the float32 value of `np.float16(x)` (numpy 2.4.6), as bit patterns: ties to even at
    /// 1 and 2048, just off a tie, the largest half (65504), the first value that overflows (65520), subnormals
    /// and the ties between them, signed zero and infinities.
    static let numpyRounding: [(UInt32, UInt32)] = [
        (0x3F80_0000, 0x3F80_0000), (0x3F80_1000, 0x3F80_0000), (0x3F80_3000, 0x3F80_4000),
        (0x3F80_1001, 0x3F80_2000), (0x3F80_0FFF, 0x3F80_0000), (0x4500_1000, 0x4500_0000),
        (0x4500_3000, 0x4500_4000), (0x3DCC_CCCD, 0x3DCC_C000), (0xBDCC_CCCD, 0xBDCC_C000),
        (0x3EAA_AAAB, 0x3EAA_A000), (0x477F_E000, 0x477F_E000), (0x477F_EFFD, 0x477F_E000),
        (0x477F_F000, 0x7F80_0000), (0xC77F_F000, 0xFF80_0000), (0x4974_2400, 0x7F80_0000),
        (0x3880_0000, 0x3880_0000), (0x3380_0000, 0x3380_0000), (0x3300_0000, 0x0000_0000),
        (0x3300_0100, 0x3380_0000), (0x33C0_0000, 0x3400_0000), (0x3420_0000, 0x3400_0000),
        (0x322B_CC77, 0x0000_0000), (0x8000_0000, 0x8000_0000), (0x7F80_0000, 0x7F80_0000),
        (0xFF80_0000, 0xFF80_0000), (0x387B_A882, 0x387B_C000), (0xC049_0FDB, 0xC049_0000),
        (0x449A_522B, 0x449A_6000),
    ]

    @Test("the conversion rounds as numpy's float16: ties to even, overflow, subnormals, NaN")
    func conversionMatchesNumpy() throws {
        for device in halfTestDevices {
            let inputs = Self.numpyRounding.map { Float(bitPattern: $0.0) } + [.nan]
            let weight = try linearWeight(try Tensor(inputs, shape: [1, inputs.count], on: device), precision: .fp16)
            let values = try weight.toArray()
            for (index, (input, expected)) in Self.numpyRounding.enumerated() {
                #expect(values[index].bitPattern == expected,
                        "\(device): \(Float(bitPattern: input)) became \(values[index]), numpy gives \(Float(bitPattern: expected))")
            }
            #expect(values.last?.isNaN == true, "\(device): NaN became \(values.last ?? 0)")
        }
    }

    #if !(os(macOS) && arch(x86_64))
    @Test("the conversion rounds as Swift's Float16 on random values of every magnitude")
    func conversionMatchesFloat16() throws {
        for device in halfTestDevices {
            var random = TestRandom()
            // Exponents from 2⁻³⁰ to 2¹⁸: subnormal halves, normal ones and overflow.
            let inputs = random.normal(4099).enumerated().map { $0.element * Float(pow(2.0, Double($0.offset % 49 - 30))) }
            let values = try linearWeight(try Tensor(inputs, shape: [1, inputs.count], on: device), precision: .fp16)
                .toArray()
            let mismatches = zip(inputs, values).filter { Float(Float16($0.0)).bitPattern != $0.1.bitPattern }
            #expect(mismatches.isEmpty, "\(device) seed \(random.seed): \(mismatches.prefix(5)) differ from Float16")
        }
    }
    #endif

    @Test("Tensor.precision, the CPU's refusal, and every other op refusing the fp16 weight")
    func precisionAndRefusals() throws {
        let cpuWeight = try Tensor([1, 2, 3, 4], shape: [2, 2], on: .cpu)
        #expect(message { _ = try linearWeight(cpuWeight, precision: .fp16) }.contains("fp16 is half storage on OpenCL"))
        #expect(cpuWeight.precision == .fp32)
        for device in halfTestDevices {
            let float = try Tensor([0.5, -1, 2, 3, 0.1, 7], shape: [2, 3], on: device)
            let weight = try linearWeight(float, precision: .fp16)
            #expect(weight.precision == .fp16 && weight.shape == [2, 3] && float.precision == .fp32)
            #expect(try linearWeight(weight, precision: .fp16).precision == .fp16)
            // 0.1 rounds to 0.0999755859375 (numpy's float16, in the table above); the others are exact.
            #expect(try weight.to(.cpu).toArray() == [0.5, -1, 2, 3, Float(bitPattern: 0x3DCC_C000), 7])
            #expect(message { _ = try gelu(weight) }.contains("is an fp16 linear weight"))
            #expect(message { _ = try add(float, weight) }.contains("only linear reads it"))
            #expect(message { _ = try weight.copy() }.contains("only linear reads it"))
            #expect(message { _ = try linear(weight, weight: float) }.contains("only linear reads it"))
            #expect(message { _ = try linear(try Tensor.zeros(shape: [1, 2], on: device), weight: weight.reshaped([3, 2])) }
                .contains("reshaped"))
        }
    }

    @Test("the tile layout: class defaults, and tunables that do not fit refused with their names")
    func layout() throws {
        for info in Device.openCLDevices {
            let limit = info.maxWorkGroupSize
            func layout(_ overrides: String) throws -> (rows: Int, columns: Int, items: Int) {
                try OpenCLBackend.halfLinearLayout(OpenCLTuning(device: info, overrides: overrides),
                                                   maxWorkGroupSize: limit, device: info.name)
            }
            // The GPU layout: 64 × 64 tiles of 256 items, within every vendor's limit (AMD's 256 the lowest).
            let gpu = try layout("gpu")
            #expect(gpu.rows == 64 && gpu.columns == 64 && gpu.items == 256)
            for vendor in ["nvidia", "amd", "intel"] { #expect(try layout("gpu=\(vendor)").items == 256) }
            let cpu = try layout("")
            #expect(cpu.items == (32 / 4) * (cpu.columns / 4) && cpu.items <= limit)
            #expect(message { _ = try layout("LH_WM=64") }.contains("must be multiples of LH_WM=64"))
            #expect(message { _ = try layout("LH_TM=4096,LH_TN=4096,LH_WM=1,LH_WN=1") }.contains("LH_TM 4096"))
        }
    }

    @Test("the cl_khr_fp16 variant compiles (clang for SPIR, with the extension) and calls half fma")
    func halfMathVariantCompiles() throws {
        // PoCL here has no cl_khr_fp16, so the variant that sums in half is checked with the clang PoCL ships with.
        guard let clang = ["/usr/bin/clang-15", "/usr/bin/clang-16", "/usr/bin/clang-17", "/usr/bin/clang-14"]
            .first(where: FileManager.default.isExecutableFile(atPath:)) else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-half-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("linear_half.cl"), output = folder.appendingPathComponent("out.ll")
        try KernelProgram.linearHalf.source.write(to: source, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: clang)
        process.arguments = ["-x", "cl", "-cl-std=CL1.2", "-target", "spir64", "-Xclang", "-finclude-default-header",
                             "-O1", "-S", "-emit-llvm", "-DLH_HALF_MATH=1", "-Werror", "-o", output.path, source.path]
        let log = Pipe()
        process.standardError = log
        try process.run()
        let errors = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(clang): \(errors)")
        let llvm = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(llvm.contains("_Z3fmaDhDhDh"), "the half variant does not call fma(half, half, half)")
    }
}
