import VitreousTensor

// One pre-norm transformer MLP half-block on the default device, then the per-token norms that
// reveal high-norm artifact tokens.
let device = Device.default
let (tokens, width, hidden) = (257, 384, 1536)
func values(_ count: Int, _ scale: Float) -> [Float] { (0..<count).map { _ in Float.random(in: -scale...scale) } }

do {
    let x = try Tensor(values(tokens * width, 1), shape: [1, tokens, width], on: device)
    let norm = try x.layerNorm(weight: .filled(1, shape: [width], on: device), bias: .zeros(shape: [width], on: device))
    let h = try norm.linear(weight: Tensor(values(hidden * width, 0.05), shape: [hidden, width], on: device),
                            bias: .zeros(shape: [hidden], on: device), activation: .gelu)
    let mlp = try h.linear(weight: Tensor(values(width * hidden, 0.05), shape: [width, hidden], on: device))
    let y = try layerScale(mlp, gamma: .filled(0.1, shape: [width], on: device), residual: x)
    let stats = try y.tokenNorms(statisticsOver: 1..<tokens).imageStatistics()[0]
    print("device \(device): max patch norm \(stats.max) at token \(stats.argmax), mean \(stats.mean)")
} catch {
    print("error: \(error)")
}
