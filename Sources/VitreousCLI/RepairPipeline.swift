import Foundation
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

/// One image through detection and one repair: the numbers for the report and the before/after panel.
struct ImageRepairer {
    let encoder: ViTEncoder
    let method: Repair.Method
    let detector: ArtifactDetector
    let registers: TestTimeRegisters?
    /// The model's defect directions (SINDER-style, from the weights), when the report should say how well
    /// each block's flagged tokens line up with them.
    var directions: DefectDirections?

    /// One block's defect direction and how the image's tokens align with it (RegisterRepair.md, "Checks").
    struct LayerAlignment: Codable {
        let layer: Int
        let gap: Double
        let hasDominantDirection: Bool
        let alignment: DefectAlignment
    }

    /// What the report holds for one image.
    struct Record: Codable {
        let image: String
        let method: String
        /// Detection on every block's output before the repair (layer = block index).
        let layers: [LayerArtifactReport]
        /// The same after a test-time-register pass.
        let layersAfter: [LayerArtifactReport]?
        let onsetLayer: Int?
        /// Metrics of the final patch tokens and CLS attention, before and after.
        let metrics: ImageMetricsComparison
        /// CLS attention mass the cleanup removed from flagged patches, per head.
        let removedAttention: [Float]
        /// With `--direction`: per block, |cos| of flagged and other patches with the defect direction.
        let alignment: [LayerAlignment]?

        var summary: String {
            let before = metrics.before, after = metrics.after
            var lines = ["\(image) — \(method)"]
            lines.append("  artifacts from block \(onsetLayer.map(String.init) ?? "none"); last block: "
                + "\(layers.last?.flagged.count ?? 0) flagged, max/median norm "
                + String(format: "%.1f", (layers.last?.maxNorm ?? 0) / max(layers.last?.medianNorm ?? 1, 1e-6)))
            if let last = layersAfter?.last {
                lines.append(String(format: "  last block with test-time registers: %d flagged, max patch norm %.1f → %.1f, "
                    + "register norm %.1f", last.flagged.count, layers.last?.maxNorm ?? 0, last.maxNorm,
                    last.testTimeRegisterNorms.first ?? 0))
            }
            lines.append(String(format: "  output patch norms: max %.2f → %.2f, max/median %.2f → %.2f",
                                before.norms.max, after.norms.max, before.norms.maxOverMedian, after.norms.maxOverMedian))
            if let b = before.attentionMean, let a = after.attentionMean {
                lines.append(String(format: "  CLS attention entropy %.3f → %.3f, mass on flagged %.3f → %.3f",
                                    b.entropy, a.entropy, b.artifactMass, a.artifactMass))
            }
            if let cos = metrics.fidelity.clsCosine { lines.append(String(format: "  CLS cosine before/after %.4f", cos)) }
            for entry in alignment ?? [] where entry.hasDominantDirection {
                lines.append(String(format: "  block %d defect direction (gap %.2f): |cos| flagged %@, others %@",
                                    entry.layer, entry.gap,
                                    entry.alignment.flaggedMeanCosine.map { String(format: "%.3f", $0) } ?? "–",
                                    entry.alignment.unflaggedMeanCosine.map { String(format: "%.3f", $0) } ?? "–"))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// A plain pass's parts on the host.
    private struct Pass {
        let output: EncoderOutput
        let layerNorms: [[Float]]
        let patches: [Float]
        let cls: [Float]
        let registers: [Float]
        let attention: [Float]   // [heads, tokens]
        let layout: TokenLayout

        init(_ output: EncoderOutput, testTimeRegisters: Int) throws {
            self.output = output
            layerNorms = try (output.tokenNorms ?? []).dropFirst().map { try $0.norms.toArray() }
            patches = try output.patches.toArray()
            cls = try output.cls.toArray()
            registers = try (output.registers?.toArray() ?? []) + (output.testTimeRegisters?.toArray() ?? [])
            attention = try output.clsAttention?.toArray() ?? []
            layout = try TokenLayout(firstPatch: output.firstPatch,
                                     grid: try PatchGrid(height: output.gridHeight, width: output.gridWidth),
                                     testTimeRegisters: testTimeRegisters)
        }

        var heads: Int { attention.count / layout.tokenCount }
        var dimension: Int { cls.count }

        /// CLS attention restricted to the patches, `[heads, patches]`.
        func patchAttention() throws -> [Float] {
            try RegisterAttention.patchRows(attention, heads: heads, layout: layout)
        }
    }

    func repair(_ image: Image, name: String) throws -> (Record, Image) {
        let input = try Preprocessor(resize: .exact(width: image.width, height: image.height)).tensor([image],
                                                                                                    on: encoder.device)
        let options = EncoderOptions(hiddenStates: directions != nil, tokenNorms: true, clsAttention: true)
        let before = try Pass(try encoder.encode(input, options: options), testTimeRegisters: 0)
        let reports = try LayerArtifactReport.reports(layerNorms: before.layerNorms, layout: before.layout,
                                                      detector: detector)
        let flagged = RepairPolicy.patchesToRepair(depth: reports.count) { block in
            reports[block].flagged.map(before.layout.grid.index(of:))
        }
        let grid = before.layout.grid
        let beforeAttention = try before.patchAttention()
        let cleanup = try AttentionCleanup.apply(rows: beforeAttention, heads: before.heads, patchCount: grid.count,
                                                 flagged: flagged)

        var afterPatches = before.patches, afterCLS = before.cls, afterRegisters = before.registers
        var afterAttention = cleanup.rows
        var afterNorms = before.layerNorms.last ?? []
        var afterLayout = before.layout
        var layersAfter: [LayerArtifactReport]?
        var afterFlagged = flagged
        switch method {
        case .detect:
            break
        case .inpaint:
            afterPatches = try RepairPolicy.inpaint(before.patches, grid: grid, dimension: before.dimension,
                                                    flagged: flagged)
        case .ttr:
            guard let registers else { throw CLIError("ttr needs register neurons") }
            let after = try Pass(try encoder.encode(input, options: EncoderOptions(
                tokenNorms: true, clsAttention: true, testTimeRegisters: registers)), testTimeRegisters: registers.count)
            layersAfter = try LayerArtifactReport.reports(layerNorms: after.layerNorms, layout: after.layout,
                                                          detector: detector)
            (afterPatches, afterCLS, afterRegisters) = (after.patches, after.cls, after.registers)
            afterAttention = try after.patchAttention()
            afterNorms = after.layerNorms.last ?? []
            afterLayout = after.layout
            afterFlagged = layersAfter?.last?.flagged.map(grid.index(of:)) ?? []
        }
        let heads = before.heads
        let metricsBefore = try ImageMetrics(tokens: before.patches, grid: grid, dimension: before.dimension,
                                             flagged: flagged, clsToken: before.cls, registerTokens: before.registers,
                                             patchAttention: beforeAttention, heads: heads)
        let metricsAfter = try ImageMetrics(tokens: afterPatches, grid: grid, dimension: before.dimension,
                                            flagged: afterFlagged, clsToken: afterCLS, registerTokens: afterRegisters,
                                            patchAttention: afterAttention, heads: heads)
        let fidelity = try Fidelity(before: before.patches, after: afterPatches, grid: grid,
                                    dimension: before.dimension, flagged: flagged, clsBefore: before.cls,
                                    clsAfter: afterCLS)
        var alignment: [LayerAlignment]?
        if let directions, let states = before.output.hiddenStates {
            alignment = try directions.layers.map { layer in
                // Hidden state l + 1 is block l's output; its patch rows are the tokens to compare.
                let tokens = try sliceTokens(states[layer.layer + 1], before.layout.patchRange).toArray()
                let flags = reports[layer.layer].flagged.map(grid.index(of:))
                return LayerAlignment(layer: layer.layer, gap: layer.gap, hasDominantDirection: layer.hasDominantDirection,
                                      alignment: try DefectAlignment(tokens: tokens, grid: grid, dimension: before.dimension,
                                                                     flagged: flags, direction: layer.direction))
            }
        }
        let record = Record(image: name, method: method.rawValue, layers: reports, layersAfter: layersAfter,
                            onsetLayer: LayerArtifactReport.onsetLayer(reports),
                            metrics: ImageMetricsComparison(repair: method.rawValue, before: metricsBefore,
                                                            after: metricsAfter, fidelity: fidelity),
                            removedAttention: cleanup.removedMass, alignment: alignment)

        // The panel: input | norms before | after | mean CLS attention before | after. Before and after share
        // one colour scale, so a repaired map looks as calm as it is.
        let patch = encoder.config.patchSize
        func outputNorms(_ tokens: [Float]) throws -> [Float] {
            try PatchMetrics.norms(tokens: tokens, grid: grid, dimension: before.dimension)
        }
        func meanAttention(_ rows: [Float]) -> [Float] {
            (0..<grid.count).map { p in (0..<heads).reduce(0) { $0 + rows[$1 * grid.count + p] } / Float(heads) }
        }
        // Inpainting changes the output tokens; the other methods are judged on the last block's norms.
        let normMaps = method == .inpaint ? (try outputNorms(before.patches), try outputNorms(afterPatches))
            : (Array((before.layerNorms.last ?? [])[before.layout.patchRange]), Array(afterNorms[afterLayout.patchRange]))
        let attentionMaps = (meanAttention(beforeAttention), meanAttention(afterAttention))
        func shared(_ a: [Float], _ b: [Float]) -> ClosedRange<Float> {
            let all = (a + b).filter(\.isFinite)
            let low = all.min() ?? 0, high = all.max() ?? 1
            return low...(high > low ? high : low + 1)
        }
        let normRange = shared(normMaps.0, normMaps.1), attentionRange = shared(attentionMaps.0, attentionMaps.1)
        func normPanel(_ values: [Float]) throws -> Image {
            try ColorMap.viridis.image(values, width: grid.width, height: grid.height, range: normRange).upscaled(by: patch)
        }
        func attentionPanel(_ values: [Float]) throws -> Image {
            try ColorMap.overlay(try ColorMap.viridis.image(values, width: grid.width, height: grid.height,
                                                            range: attentionRange), on: image, opacity: 0.7)
        }
        let panel = try Image.sideBySide([image, try normPanel(normMaps.0), try normPanel(normMaps.1),
                                          try attentionPanel(attentionMaps.0), try attentionPanel(attentionMaps.1)])
        return (record, panel)
    }
}
