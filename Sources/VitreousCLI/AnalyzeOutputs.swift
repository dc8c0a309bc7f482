import Foundation
import VitreousAnalysis
import VitreousFigure
import VitreousImage
import VitreousModel

extension AnalyzeReport {
    /// analysis.json, one CSV per measure and the figures, into `folder`.
    func write(to folder: URL, figures: FigureOptions, title: String, metadata: [String: Any]) throws {
        var csv: [String: [String]] = [:]
        let blocks = (1...state.config.depth).map(Double.init)
        let layers = (0...state.config.depth).map(Double.init)
        var plots: [(String, LinePlot)] = []

        func perHead(_ name: String, _ values: [[Double]], unit: String, what: String) {
            csv[name] = ["block,head,\(name.replacingOccurrences(of: "-", with: "_"))"]
                + values.enumerated().flatMap { b, heads in heads.enumerated().map { "\(b + 1),\($0),\($1)" } }
            plots.append((name, headPlot("\(what) per block — \(title)", values, x: blocks, yLabel: unit)))
        }
        if state.metrics.contains(.attentionDistance), !state.attention.isEmpty {
            perHead("attention-distance", state.attention.map(\.meanDistance), unit: "mean attention distance (pixels)",
                    what: "Attention distance")
        }
        if state.metrics.contains(.entropy), !state.attention.isEmpty {
            perHead("entropy", state.attention.map(\.meanEntropy), unit: "attention entropy (nats)", what: "Attention entropy")
        }
        if !state.segmentation.isEmpty {
            perHead("segmentation", state.segmentation.map(\.meanJaccard), unit: "Jaccard index (60 % CLS-attention mask)",
                    what: "Attention as segmentation")
        }
        if !state.frequency.isEmpty {
            let curves = state.frequency.map(\.relativeLogAmplitude)
            let high = state.frequency.map(\.highFrequency)
            csv["frequency"] = ["layer,step,relative_log_amplitude"]
                + curves.enumerated().flatMap { l, curve in curve.enumerated().map { "\(l),\($0),\($1)" } }
            plots.append(("frequency", LinePlot(
                title: "Relative log amplitude of the highest frequency — \(title)", xLabel: "layer",
                yLabel: "Δ log amplitude (high − zero frequency)", x: layers,
                series: [.init(name: "patch features", values: high, color: LinePlot.palette[0])],
                notes: ["2-D DFT of each channel's patch map, log amplitude on the half diagonal, averaged over channels and images"])))
        }
        if !cka.isEmpty {
            for (pooling, matrix) in cka {
                csv["cka-\(pooling.rawValue)"] = ["layer," + matrix.indices.map(String.init).joined(separator: ",")]
                    + matrix.enumerated().map { "\($0)," + $1.map { "\($0)" }.joined(separator: ",") }
            }
        }
        if !ncc.isEmpty || !knn.isEmpty {
            var series: [LinePlot.Series] = [], rows = ["layer,pooling,ncc,knn_top1,knn_top5"]
            for (index, pooling) in state.poolings.enumerated() {
                let n = ncc[pooling], nn = knn[pooling]
                for layer in layers.indices {
                    rows.append("\(layer),\(pooling.rawValue),\(n.map { "\($0[layer])" } ?? ""),"
                        + "\(nn.map { "\($0.top1[layer])" } ?? ""),\(nn.map { "\($0.top5[layer])" } ?? "")")
                }
                if let n { series.append(.init(name: "NCC, \(pooling.rawValue)", values: n, color: LinePlot.palette[index])) }
                if let nn {
                    series.append(.init(name: "k-NN top-1, \(pooling.rawValue)", values: nn.top1,
                                        color: LinePlot.palette[index + 2], dashed: true))
                }
            }
            csv["classification"] = rows
            let split = state.labels?.hasSplit == true ? "validation images" : "training images (k-NN leave-one-out)"
            plots.append(("accuracy", LinePlot(
                title: "Semantic clustering per layer — \(title)", xLabel: "layer", yLabel: "accuracy", x: layers, series: series,
                notes: ["on the \(split); k-NN: k = \(k), votes exp(s / \(temperature)), cosine similarity"])))
        }
        let data = try LayerAnalysisReport.json(numbers.document(metadata: metadata))
        try AtomicFile.write(data, to: folder.appendingPathComponent("analysis.json"))
        for (name, lines) in csv {
            try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent("\(name).csv"))
        }
        for (name, plot) in plots { try figures.write(plot, folder, name) }
        if !cka.isEmpty { try figures.write(try ckaFigure(title), folder, "cka") }
        if !state.overlays.isEmpty { try figures.write(try overlayFigure(title), folder, "segmentation-overlays") }
    }

    /// One line per head in a colour ramp and their mean in black.
    private func headPlot(_ title: String, _ values: [[Double]], x: [Double], yLabel: String) -> LinePlot {
        let heads = values.first?.count ?? 0
        var series = (0..<heads).map { h in
            let (r, g, b) = ColorMap.viridis.color(Float(h) / Float(max(heads - 1, 1)) * 0.9)
            return LinePlot.Series(name: "head \(h)", values: values.map { $0[h] }, color: FigureColor(Double(r), Double(g), Double(b)),
                                   dashed: true)
        }
        series.append(.init(name: "mean", values: values.map(mean), color: FigureColor(0, 0, 0)))
        return LinePlot(title: title, xLabel: "block", yLabel: yLabel, x: x, series: series,
                        notes: ["\(counted(state.encoded.count, "image")); one line per head, black: their mean"])
    }

    /// The layer × layer CKA maps, one panel per pooling, one colour scale.
    private func ckaFigure(_ title: String) throws -> Figure {
        let all = cka.values.flatMap { $0.flatMap { $0 } }.filter(\.isFinite)
        let range = Float(min(0, all.min() ?? 0))...Float(max(1, all.max() ?? 1))
        let panels = try state.poolings.compactMap { pooling -> FigurePanel? in
            guard let matrix = cka[pooling] else { return nil }
            let n = matrix.count
            let image = try ColorMap.viridis.image(matrix.flatMap { $0.map(Float.init) }, width: n, height: n, range: range)
            return FigurePanel(image: image, caption: pooling == .cls ? "CLS token" : "mean patch token",
                               smooth: false)
        }
        return Figure(title: "Linear CKA between layers (minibatch, unbiased HSIC) — \(title)", panels: panels,
                      colorBars: [ColorBar(range: range, label: "CKA")],
                      notes: ["rows (from the top) and columns: layers 0…\(state.config.depth); minibatches of "
                             + "\(state.cka.values.first?.minibatch ?? 0) images; shared colour scale",
                             "undefined (constant features, such as the CLS token at layer 0) shows as the scale's low end; null in analysis.json"],
                      panelSize: 280)
    }

    /// A few images with, per patch, how many heads of the last block keep it in their 60 % CLS-attention mask.
    private func overlayFigure(_ title: String) throws -> Figure {
        let heads = state.config.heads
        guard let grid = state.grid else { return Figure(title: title, panels: []) }
        let panels = try state.overlays.map { entry -> FigurePanel in
            let counts = (0..<(grid.height * grid.width)).map { p in Float(entry.masks.filter { $0[p] }.count) }
            let cells = try ColorMap.viridis.image(counts, width: grid.width, height: grid.height, range: 0...Float(heads))
            let picture = try ColorMap.overlay(cells, on: entry.image.image, opacity: 0.6)
            var caption = (entry.image.path as NSString).lastPathComponent
            if let truth = entry.truth {
                let union = (0..<truth.count).map { p in entry.masks.contains { $0[p] } }
                caption += String(format: " (Jaccard of the union: %.2f)", AttentionSegmentation.jaccard(union, truth))
            }
            return FigurePanel(image: picture, caption: caption, smooth: false)
        }
        return Figure(title: "CLS attention of the last block as segmentation — \(title)", panels: panels,
                      colorBars: [ColorBar(range: 0...Float(heads), label: "heads whose 60 % mass mask keeps the patch")],
                      notes: ["DINO's masks: per head, the fewest patches holding 60 % of the CLS attention"], panelSize: 240)
    }
}

private func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
