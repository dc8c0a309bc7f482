import Foundation
import Testing
import VitreousDemo
import VitreousModel
@testable import VitreousRepair
import VitreousTensor

@Suite("Artifact detection")
struct DetectorTests {
    @Test("absolute(100) and robustLogMAD flag exactly the planted cells at layers 2–5, nothing at 0–1",
          arguments: [PlantedArtifacts.Layout.isolated, .block])
    func exactOnPlanted(layout: PlantedArtifacts.Layout) throws {
        for layer in 0..<6 {
            let norms = Synthetic.norms(layout, layer: layer)
            let expected = layer < 2 ? [] : Synthetic.cells(layout)
            for detector in [ArtifactDetector.absolute(threshold: 100), .default, .otsuLog()] {
                let found = try detector.detect(norms: norms).flagged
                #expect(found == expected, "\(detector) on \(layout) layer \(layer): \(found)")
            }
        }
    }

    @Test("no detector flags a map without artifacts, and the low background of early layers is not flagged")
    func cleanMaps() throws {
        for layout in PlantedArtifacts.Layout.allCases {
            for layer in 0..<2 {  // content-free cells at ≈ 5: a *lower* tail, which must stay unflagged
                let norms = Synthetic.norms(layout, layer: layer)
                for detector in [ArtifactDetector.absolute(threshold: 100), .default, .otsuLog()] {
                    #expect(try detector.detect(norms: norms).flagged.isEmpty, "\(detector) on \(layout) layer \(layer)")
                }
            }
        }
        let clean = Synthetic.norms(.none, layer: 5)
        let otsu = try ArtifactDetector.otsuLog().detect(norms: clean)
        #expect(otsu.flagged.isEmpty && otsu.threshold == .greatestFiniteMagnitude)
        #expect(try ArtifactDetector.default.detect(norms: clean).flagged.isEmpty)
        // A perfectly flat map (MAD = 0) falls back to the ratio test alone.
        #expect(try ArtifactDetector.default.detect(norms: [Float](repeating: 30, count: 256)).flagged.isEmpty)
        var flat = [Float](repeating: 30, count: 256)
        flat[17] = 61
        #expect(try ArtifactDetector.default.detect(norms: flat).flagged == [17])
    }

    @Test("mean + k·std breaks down as RegisterRepair.md (Detection) predicts: k = 4 misses the 6.25 % block, k = 3 still finds it")
    func meanStdBreakdown() throws {
        for layer in 2..<6 {
            let block = Synthetic.norms(.block, layer: layer)
            // 16 of 256 outliers: no outlier can reach sqrt((1 − p)/p) = 3.87 standard scores.
            #expect(try ArtifactDetector.meanStd(k: 4).detect(norms: block).flagged.isEmpty)
            #expect(try ArtifactDetector.meanStd(k: 3).detect(norms: block).flagged == Synthetic.cells(.block))
            let isolated = Synthetic.norms(.isolated, layer: layer)
            #expect(try ArtifactDetector.meanStd(k: 4).detect(norms: isolated).flagged == Synthetic.cells(.isolated))
        }
    }

    @Test("defectCosine: SINDER's rule finds isolated artifacts but not the block; the robust rule finds both")
    func defectCosine() throws {
        let u = PlantedArtifacts.directions.u
        let (grid, d) = (Synthetic.grid, Synthetic.dimension)
        for layout in [PlantedArtifacts.Layout.isolated, .block] {
            let tokens = Synthetic.tokens(layout)
            let scores = try DefectCosineDetector.scores(tokens: tokens, grid: grid, dimension: d, direction: u)
            for cell in Synthetic.cells(layout) { #expect(scores[cell] >= 0.99) }
            let robust = try DefectCosineDetector().detect(tokens: tokens, grid: grid, dimension: d, direction: u)
            #expect(robust.flagged == Synthetic.cells(layout))
            let sinder = try DefectCosineDetector(rule: .sinder()).detect(tokens: tokens, grid: grid, dimension: d, direction: u)
            #expect(sinder.flagged == (layout == .isolated ? Synthetic.cells(layout) : []), "\(layout): \(sinder.flagged)")
        }
        // SINDER's own variant never flags the outer ring.
        let ring = try DefectCosineDetector.sinder.detect(tokens: Synthetic.tokens(.isolated), grid: grid, dimension: d,
                                                          direction: u)
        #expect(ring.flagged == Synthetic.cells(.isolated))
    }

    @Test("the robust cosine rule needs its floor: on pure noise z > 3.5 alone flags ≈ 0.6 % of patches")
    func cosineFloor() throws {
        let grid = try PatchGrid(height: 37, width: 37)
        var generator = SplitMix64(seed: 11)
        let tokens = generator.normal(grid.count * 64)
        let u = PlantedArtifacts.directions.u
        let noFloor = try DefectCosineDetector(rule: .robust(minCosine: 0)).detect(tokens: tokens, grid: grid,
                                                                                   dimension: 64, direction: u)
        let floored = try DefectCosineDetector().detect(tokens: tokens, grid: grid, dimension: 64, direction: u)
        #expect(!noFloor.flagged.isEmpty && noFloor.flagged.count < 30, "\(noFloor.flagged.count)")
        #expect(floored.flagged.isEmpty)
    }

    @Test("bad inputs are refused with readable messages")
    func invalidInputs() throws {
        #expect(errorText { _ = try ArtifactDetector.default.detect(norms: []) }.contains("no norms"))
        #expect(errorText { _ = try ArtifactDetector.default.detect(norms: [1, .nan]) }.contains("non-finite"))
        #expect(errorText { _ = try ArtifactDetector.default.detect(norms: [1, -2]) }.contains("negative"))
        #expect(errorText { _ = try ArtifactDetector.otsuLog(bins: 1).detect(norms: [1, 2]) }.contains("2 bins"))
        #expect(errorText { _ = try PatchGrid(height: 0, width: 3) }.contains("positive sides"))
        let grid = try PatchGrid(height: 2, width: 2)
        #expect(errorText {
            _ = try DefectCosineDetector().detect(tokens: [1, 2, 3], grid: grid, dimension: 2, direction: [1, 0])
        }.contains("needs 8"))
        #expect(errorText {
            _ = try DefectCosineDetector.scores(tokens: [Float](repeating: 1, count: 8), grid: grid, dimension: 2,
                                                direction: [0, 0])
        }.contains("zero vector"))
    }

    @Test("layer reports: flags, norms of CLS, trained and test-time registers, onset, valid JSON")
    func reports() throws {
        let layout = try TokenLayout(firstPatch: 2, grid: Synthetic.grid, testTimeRegisters: 1)
        #expect(layout.tokenCount == 259)
        let layerNorms = (0..<6).map { layer in [10, 40] + Synthetic.norms(.isolated, layer: layer) + [263] }
        let reports = try LayerArtifactReport.reports(layerNorms: layerNorms, layout: layout)
        #expect(reports.count == 6 && LayerArtifactReport.onsetLayer(reports) == 2)
        let expected = PlantedArtifacts.Layout.isolated.backgroundCells.map { GridIndex(row: $0.row, column: $0.column) }
        for report in reports {
            #expect(report.flagged == (report.layer < 2 ? [] : expected))
            #expect(report.clsNorm == 10 && report.registerNorms == [40] && report.testTimeRegisterNorms == [263])
            #expect(report.fraction == Float(report.flagged.count) / 256)
            #expect(abs(report.medianNorm - 30) < 1.5 && report.maxNorm <= (report.layer < 2 ? 45 : 280))
        }
        #expect(reports[3].detector == "robustLogMAD(zMin: 3.5, ratioMin: 2.0)")
        // A declined Otsu threshold is finite, so the JSON encoder accepts it.
        let declined = try LayerArtifactReport(layer: 0, norms: layerNorms[0], layout: layout, detector: .otsuLog())
        let data = try JSONEncoder().encode([declined] + reports)
        #expect(try JSONDecoder().decode([LayerArtifactReport].self, from: data) == [declined] + reports)
        #expect(try LayerArtifactReport.reports(layerNorms: layerNorms, firstPatch: 2, grid: Synthetic.grid,
                                                testTimeRegisters: 1) == reports)
        let layoutJSON = try JSONEncoder().encode(layout)
        #expect(try JSONDecoder().decode(TokenLayout.self, from: layoutJSON) == layout)
        #expect(errorText {
            _ = try JSONDecoder().decode(PatchGrid.self, from: Data(#"{"height": 0, "width": 4}"#.utf8))
        }.contains("positive sides"))
        #expect(errorText {
            _ = try LayerArtifactReport(layer: 4, norms: [1, 2, 3], layout: layout)
        }.contains("layer 4 has 3 token norms, but the layout needs 259"))
    }
}
