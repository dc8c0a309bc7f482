import Foundation
import VitreousModel
import VitreousTensor

/// Where the time of one forward pass goes: each operation of the encoder timed on its own at the model's
/// shapes, times the number of calls per pass, against the measured end-to-end time (the difference is what
/// the ops cost together beyond their sum: launches, allocation, cache effects).
struct Breakdown {
    let device: Device
    let config: ViTConfig
    let size: Int
    let batch: Int
    let samples: Int

    struct Row {
        let name: String
        let callsPerPass: Int
        let milliseconds: Double
    }

    func run() throws -> (rows: [Row], total: Double) {
        let weights = try ViTHostWeights.random(config: config, seed: 1).tensors(on: device)
        let encoder = ViTEncoder(weights: weights)
        let grid = size / config.patchSize
        let tokens = config.tokenCount(gridHeight: grid, gridWidth: grid)
        let (d, depth) = (config.hiddenSize, config.depth)
        let block = weights.blocks[0]
        func values(_ shape: [Int], _ seed: UInt64) throws -> Tensor {
            try Tensor(benchmarkValues(shape.reduce(1, *), seed: seed), shape: shape, on: device)
        }
        let images = try values([batch, 3, size, size], 1)
        let x = try values([batch, tokens, d], 2)
        let qkv = try values([batch, tokens, 3 * d], 3)
        let attended = try values([batch, tokens, d], 4)
        let hidden = try values([batch, tokens, config.mlpHiddenSize], 5)
        func time(_ body: () throws -> Void) throws -> Double {
            try measure(on: device, samples: samples, warmup: 2) { try body() }.median * 1000
        }
        var rows: [Row] = []
        func add(_ name: String, _ calls: Int, _ body: () throws -> Void) throws {
            rows.append(Row(name: name, callsPerPass: calls, milliseconds: try time(body) * Double(calls)))
        }
        try add("patch embedding (patchify + GEMM + tokens)", 1) {
            let patches = try linear(try patchify(images, patch: config.patchSize), weight: weights.patchEmbedWeight,
                                     bias: weights.patchEmbedBias)
            _ = try assembleTokens(patches: patches, cls: weights.clsToken, registers: weights.registerTokens,
                                   positions: try weights.positionEmbedding(gridHeight: grid, gridWidth: grid))
        }
        try add("layer norm", 2 * depth + 1) { _ = try layerNorm(x, weight: block.norm1Weight, bias: block.norm1Bias) }
        try add("qkv GEMM + bias", depth) { _ = try linear(x, weight: block.qkvWeight, bias: block.qkvBias) }
        try add("fused attention", depth) { _ = try attention(qkv: qkv, heads: config.heads) }
        try add("proj GEMM + bias", depth) { _ = try linear(attended, weight: block.projWeight, bias: block.projBias) }
        try add("LayerScale + residual", 2 * depth) { _ = try layerScale(attended, gamma: block.layerScale1, residual: x) }
        try add("fc1 GEMM + bias + GELU", depth) {
            _ = try linear(x, weight: block.fc1Weight, bias: block.fc1Bias, activation: .gelu)
        }
        try add("fc2 GEMM + bias", depth) { _ = try linear(hidden, weight: block.fc2Weight, bias: block.fc2Bias) }
        try add("outputs (slices)", 1) {
            _ = try sliceTokens(x, 0..<1)
            _ = try sliceTokens(x, 1..<tokens)
        }
        let total = try time { _ = try encoder.encode(images).tokens }
        return (rows, total)
    }

    static func render(_ rows: [Row], total: Double, title: String) -> String {
        func line(_ name: String, _ calls: String, _ ms: Double, _ share: Double) -> String {
            name.padding(toLength: 44, withPad: " ", startingAt: 0) + calls.leftPadded(6)
                + String(format: "%10.2f %6.1f %%", ms, share)
        }
        var lines = [title, "  " + "operation".padding(toLength: 44, withPad: " ", startingAt: 0) + "calls".leftPadded(6)
            + "   ms/pass   share"]
        for row in rows {
            lines.append("  " + line(row.name, String(row.callsPerPass), row.milliseconds, 100 * row.milliseconds / total))
        }
        let sum = rows.reduce(0) { $0 + $1.milliseconds }
        lines.append("  " + line("sum of the parts", "", sum, 100 * sum / total))
        lines.append("  " + line("measured forward pass", "", total, 100))
        return lines.joined(separator: "\n")
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
