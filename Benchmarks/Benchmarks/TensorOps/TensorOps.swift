import Benchmark
import VitreousModel
import VitreousTensor

/// The hot operations of a ViT-S/14 forward pass at 224 px on every device, and the pass itself, for
/// tracking regressions (`swift package benchmark baseline update` / `compare`).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
                                           maxDuration: .seconds(2), maxIterations: 200)
    for device in Device.all {
        guard let x = try? Tensor.filled(0.5, shape: [1, 257, 384], on: device),
              let qkv = try? Tensor.filled(0.1, shape: [1, 257, 1152], on: device),
              let weight = try? Tensor.filled(0.01, shape: [1536, 384], on: device),
              let gamma = try? Tensor.filled(1, shape: [384], on: device),
              let beta = try? Tensor.zeros(shape: [384], on: device),
              let weights = try? ViTHostWeights.random(config: .small, seed: 1).tensors(on: device),
              let images = try? Tensor.filled(0.2, shape: [1, 3, 224, 224], on: device) else { continue }
        let encoder = ViTEncoder(weights: weights)
        let sync = { try backend(for: device).synchronize() }
        Benchmark("fc1 GEMM + GELU 257×384·384×1536 (\(device))") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try linear(x, weight: weight, activation: .gelu)) }
            try sync()
        }
        Benchmark("layer norm 257×384 (\(device))") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try layerNorm(x, weight: gamma, bias: beta)) }
            try sync()
        }
        Benchmark("token norms 257×384 (\(device))") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try tokenNorms(x)) }
            try sync()
        }
        Benchmark("fused attention T=257, 6×64 (\(device))") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try attention(qkv: qkv, heads: 6)) }
            try sync()
        }
        Benchmark("ViT-S/14 forward 224 px (\(device))", configuration: .init(maxIterations: 20)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try encoder.encode(images).tokens) }
            try sync()
        }
    }
}
