import Foundation
import VitreousTensor
import VitreousTesting

/// One measured row of the report.
struct BenchmarkResult: Codable {
    let device: String
    let name: String
    let shape: String
    let timing: TimingSummary
    /// GFLOP/s for compute-bound operations, GB/s for memory-bound ones.
    let rate: Double
    let unit: String
    /// Rate as a percentage of the ceiling measured on the same device in the same run, if any.
    let percentOfCeiling: Double?
    /// Relative L2 error against the float64 reference, when `--verify` was given.
    let verifyError: Double?
    /// Buffers the backend had to create during one more run after the timed ones (0 = steady state served
    /// entirely from its buffer pool); measured for the end-to-end rows.
    var newBuffersPerRun: Int? = nil
}

/// Buffers created so far by the backend of `device` (host or OpenCL buffer pool).
func buffersCreated(on device: Device) throws -> Int { try backend(for: device).allocationStatistics.created }

/// The per-operation benchmarks of one device: GEMM for the ViT-S/14 block shapes against a large square
/// sgemm, and the memory-bound kernels against a device buffer copy of the same bytes.
struct OpBenchmarks {
    let device: Device
    let samples: Int
    let quick: Bool
    let verify: Bool
    let filter: String?

    func wanted(_ name: String) -> Bool {
        guard let filter, !filter.isEmpty else { return true }
        return name.localizedCaseInsensitiveContains(filter)
    }

    func run(progress: (String) -> Void) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        let gemmCeiling = try sgemmCeiling(progress: progress)
        if let gemmCeiling { results.append(gemmCeiling) }
        // The block GEMMs at 224 px (257 tokens) as the encoder runs them, x · Wᵀ: ViT-S (D 384, MLP 1536),
        // ViT-B (768, 3072), ViT-L (1024, 4096); --quick keeps ViT-S.
        let models: [(String, Int)] = quick ? [("vit-s", 384)] : [("vit-s", 384), ("vit-b", 768), ("vit-l", 1024)]
        let vitShapes: [(String, Int, Int, Int)] = models.flatMap { name, d in
            [("gemm \(name) qkv", 257, d, 3 * d), ("gemm \(name) fc1", 257, d, 4 * d), ("gemm \(name) fc2", 257, 4 * d, d)]
        }
        for (name, rows, inFeatures, outFeatures) in vitShapes where wanted(name) {
            progress(name)
            results.append(try linearBenchmark(name, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                               ceiling: gemmCeiling?.rate))
        }
        try results.append(contentsOf: memoryBound(progress: progress))
        return results
    }

    private func sgemmCeiling(progress: (String) -> Void) throws -> BenchmarkResult? {
        let name = "gemm ceiling (square sgemm)"
        // The ceiling of every compute-bound row, so measured whenever one of them runs.
        guard wanted("gemm") || wanted("encoder") || wanted("attention") else { return nil }
        progress(name)
        let n = quick ? 1024 : 2048
        let a = try Tensor(benchmarkValues(n * n, seed: 1), shape: [n, n], on: device)
        let b = try Tensor(benchmarkValues(n * n, seed: 2), shape: [n, n], on: device)
        let timing = try measure(on: device, samples: samples) { _ = try matmul(a, b) }
        let gflops = 2 * pow(Double(n), 3) / timing.median / 1e9
        return BenchmarkResult(device: device.description, name: name, shape: "\(n)×\(n)·\(n)×\(n)", timing: timing,
                               rate: gflops, unit: "GFLOP/s", percentOfCeiling: 100, verifyError: nil)
    }

    private func linearBenchmark(_ name: String, rows: Int, inFeatures: Int, outFeatures: Int,
                                 ceiling: Double?) throws -> BenchmarkResult {
        let xValues = benchmarkValues(rows * inFeatures, seed: 3)
        let wValues = benchmarkValues(outFeatures * inFeatures, seed: 4, scale: 0.05)
        let x = try Tensor(xValues, shape: [rows, inFeatures], on: device)
        let w = try Tensor(wValues, shape: [outFeatures, inFeatures], on: device)
        var error: Double?
        if verify {
            let reference = Reference.linear(xValues.map(Double.init), weight: wValues.map(Double.init), bias: nil,
                                             rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
            error = Reference.relativeError(try linear(x, weight: w).toArray(), reference)
        }
        let timing = try measure(on: device, samples: samples) { _ = try linear(x, weight: w) }
        let gflops = 2 * Double(rows * inFeatures * outFeatures) / timing.median / 1e9
        return BenchmarkResult(device: device.description, name: name,
                               shape: "\(rows)×\(inFeatures)·\(inFeatures)×\(outFeatures)", timing: timing,
                               rate: gflops, unit: "GFLOP/s", percentOfCeiling: ceiling.map { 100 * gflops / $0 },
                               verifyError: error)
    }

    /// Layer norm and token norms on a residual stream of ViT-B/14 at 518 px, batch 8 (34 MB: larger
    /// than any cache here), against a device copy of that buffer. Bandwidth counts bytes read + written.
    private func memoryBound(progress: (String) -> Void) throws -> [BenchmarkResult] {
        let (batch, tokens, dim) = quick ? (2, 1370, 768) : (8, 1370, 768)
        let count = batch * tokens * dim
        let shape = "\(batch)×\(tokens)×\(dim)"
        let xValues = benchmarkValues(count, seed: 5)
        let x = try Tensor(xValues, shape: [batch, tokens, dim], on: device)
        let weight = try Tensor(benchmarkValues(dim, seed: 6, scale: 0.1).map { $0 + 1 }, shape: [dim], on: device)
        let bias = try Tensor(benchmarkValues(dim, seed: 7, scale: 0.1), shape: [dim], on: device)
        var results: [BenchmarkResult] = []
        let bytes = Double(count * 4)

        guard wanted("copy") || wanted("layer norm") || wanted("token norms") || wanted("gelu") else { return [] }
        progress("buffer copy")
        let copyTiming = try measure(on: device, samples: samples) { _ = try x.copy() }
        let copyRate = 2 * bytes / copyTiming.median / 1e9
        results.append(BenchmarkResult(device: device.description, name: "buffer copy (ceiling)", shape: shape,
                                       timing: copyTiming, rate: copyRate, unit: "GB/s", percentOfCeiling: 100,
                                       verifyError: nil))
        /// One memory-bound row: optional check against the reference, then bytes moved per second.
        func row(_ name: String, movedBytes: Double, reference: (() throws -> Double)?, _ body: () throws -> Void) throws {
            guard wanted(name) else { return }
            progress(name)
            let error = verify ? try reference?() : nil
            let timing = try measure(on: device, samples: samples, body)
            let rate = movedBytes / timing.median / 1e9
            results.append(BenchmarkResult(device: device.description, name: name, shape: shape, timing: timing,
                                           rate: rate, unit: "GB/s", percentOfCeiling: 100 * rate / copyRate,
                                           verifyError: error))
        }
        try row("layer norm", movedBytes: 2 * bytes, reference: {
            Reference.relativeError(try layerNorm(x, weight: weight, bias: bias).toArray(),
                                    Reference.layerNorm(xValues.map(Double.init), weight: try weight.toArray().map(Double.init),
                                                        bias: try bias.toArray().map(Double.init), dim: dim))
        }) { _ = try layerNorm(x, weight: weight, bias: bias) }
        try row("gelu (exact erf)", movedBytes: 2 * bytes, reference: {
            Reference.relativeError(try gelu(x).toArray(), xValues.map { Reference.gelu(Double($0)) })
        }) { _ = try gelu(x) }
        try row("token norms", movedBytes: bytes + Double(batch * tokens * 4), reference: {
            Reference.relativeError(try tokenNorms(x).norms.toArray(),
                                    Reference.tokenNorms(xValues.map(Double.init), batch: batch, tokens: tokens, dim: dim,
                                                         range: 0..<tokens).norms)
        }) { _ = try tokenNorms(x) }
        return results
    }
}
