import Foundation
import Testing
@testable import VitreousAnalysis
import VitreousTensor

/// Each measure against NumPy / scikit-learn (Scripts/make-analysis-fixtures.py), to ≤ 1e-4.
@Suite struct MeasureTests {
    let fixture = AnalysisFixture.shared

    @Test(arguments: 0..<3) func attentionDistanceAndEntropy(_ index: Int) throws {
        let c = fixture.attention[index]
        let geometry = PatchGeometry(gridHeight: c.grid[0], gridWidth: c.grid[1], patchSize: c.patch, firstPatch: c.first)
        var stats = try AttentionStatistics(heads: c.shape[1], tokens: c.shape[2], geometry: geometry)
        // One image at a time: the accumulator must not depend on how images are batched.
        let perImage = c.shape[1] * c.shape[2] * c.shape[3]
        for b in 0..<c.shape[0] {
            try stats.add(Array(c.attention[(b * perImage)..<((b + 1) * perImage)]), batch: 1)
        }
        #expect(maxDifference(stats.meanDistance, c.distance) <= 1e-4 * max(1, c.distance.max() ?? 1), "\(c.model)/\(c.case_)")
        #expect(maxDifference(stats.meanEntropy, c.entropy) <= 1e-4, "\(c.model)/\(c.case_)")
    }

    /// The same fixtures through the device reduction (attentionRowStatistics) on every backend.
    @Test(arguments: Device.all, 0..<3) func attentionDistanceAndEntropyOnTheDevice(device: Device, _ index: Int) throws {
        let c = fixture.attention[index]
        let geometry = PatchGeometry(gridHeight: c.grid[0], gridWidth: c.grid[1], patchSize: c.patch, firstPatch: c.first)
        var stats = try AttentionStatistics(heads: c.shape[1], tokens: c.shape[2], geometry: geometry)
        let n = geometry.patchCount
        let table = try Tensor(stats.patchDistanceTable, shape: [n, n], on: device)
        let perImage = c.shape[1] * c.shape[2] * c.shape[3]
        for b in 0..<c.shape[0] {
            let maps = try Tensor(Array(c.attention[(b * perImage)..<((b + 1) * perImage)]),
                                  shape: [1] + Array(c.shape[1...]), on: device)
            let sums = try attentionRowStatistics(maps, patchDistances: table, firstPatch: c.first)
            try stats.add(rowEntropy: try sums.entropy.toArray(), rowDistance: try sums.distance.toArray(), batch: 1)
        }
        #expect(stats.images == c.shape[0])
        #expect(maxDifference(stats.meanDistance, c.distance) <= 1e-4 * max(1, c.distance.max() ?? 1), "\(device) \(c.model)/\(c.case_)")
        #expect(maxDifference(stats.meanEntropy, c.entropy) <= 1e-4, "\(device) \(c.model)/\(c.case_)")
    }

    @Test(arguments: 0..<3) func dinoMasksAndJaccard(_ index: Int) throws {
        let c = fixture.attention[index]
        let (heads, t, n) = (c.shape[1], c.shape[2], c.grid[0] * c.grid[1])
        var scores = SegmentationScores(heads: heads)
        for b in 0..<c.shape[0] {
            var cls: [Float] = []
            for h in 0..<heads {
                let row = ((b * heads + h) * t) * t
                cls += c.attention[(row + c.first)..<(row + c.first + n)]
            }
            let masks = (0..<heads).flatMap { h in
                AttentionSegmentation.mask(Array(cls[(h * n)..<((h + 1) * n)])).map { $0 ? 1 : 0 }
            }
            #expect(masks == c.masks[b])
            try scores.add(clsAttention: cls, truth: c.truths[b].map { $0 == 1 })
        }
        #expect(maxDifference(scores.meanJaccard, c.jaccard) <= 1e-9)
    }

    @Test func patchMaskIsTheMajorityOfPixels() throws {
        // 2×2 patches of 2 pixels: 3 of 4, exactly half, none and all foreground.
        let pixels: [Float] = [1, 1, 1, 0,
                               1, 0, 0, 1,
                               0, 0, 1, 1,
                               0, 0, 1, 1]
        #expect(try AttentionSegmentation.patchMask(pixels, height: 4, width: 4, patchSize: 2) == [true, false, false, true])
        #expect(throws: AnalysisError.self) { try AttentionSegmentation.patchMask(pixels, height: 4, width: 4, patchSize: 3) }
    }

    @Test(arguments: [[37], [7, 13, 17], [1, 2, 3, 4, 27]]) func minibatchCKA(_ batches: [Int]) throws {
        let c = fixture.cka
        var cka = try MinibatchCKA(dimensions: c.dimensions, minibatch: c.minibatch)
        var start = 0
        for rows in batches {
            let features = c.dimensions.enumerated().map { l, d in Array(c.features[l][(start * d)..<((start + rows) * d)]) }
            try cka.add(features, rows: rows)
            start += rows
        }
        let result = try cka.finish()
        #expect(cka.minibatches == 4)
        #expect(maxDifference(result.flatMap { $0 }, c.cka.flatMap { $0 }) <= 1e-4)
        // Not trivially 1: the layers differ.
        #expect((c.cka.flatMap { $0 }.min() ?? 1) < 0.95)
    }

    @Test func ckaOfAConstantLayerIsUndefinedAndAnOffsetChangesNothing() throws {
        // Layer 0: one row for every image (as the CLS token of layer 0 is), far from the origin; layer 1:
        // the fixture's first layer; layer 2: the same plus a large constant. HSIC₁ ignores a constant, so
        // CKA(1, 2) is 1 and row 0 is NaN, both only if rounding does not leak through the shared mean.
        let c = fixture.cka
        let d = c.dimensions[0], rows = c.features[0].count / d
        let constant = (0..<rows).flatMap { _ in (0..<d).map { Float($0) * 0.37 + 1000 } }
        let offset = c.features[0].enumerated().map { $1 + Float($0 % d) * 50 + 300 }
        var cka = try MinibatchCKA(dimensions: [d, d, d], minibatch: c.minibatch)
        try cka.add([constant, c.features[0], offset], rows: rows)
        let result = try cka.finish()
        #expect(result[0].allSatisfy(\.isNaN) && result[1][0].isNaN && result[2][0].isNaN)
        #expect(abs(result[1][2] - 1) <= 1e-4 && abs(result[1][1] - 1) <= 1e-12)
    }

    @Test func ckaNeedsFourImages() throws {
        #expect(throws: AnalysisError.self) { try MinibatchCKA(dimensions: [4], minibatch: 3) }
        var cka = try MinibatchCKA(dimensions: [2], minibatch: 8)
        try cka.add([[1, 2, 3, 4, 5, 6]], rows: 3)
        #expect(throws: AnalysisError.insufficientData("CKA needs at least 4 images, got 3")) { try cka.finish() }
    }

    @Test(arguments: [3, 1]) func frequencyMatchesNumpyFFT(_ perCall: Int) throws {
        let f = fixture.frequency
        let (b, h, w, d) = (f.shape[0], f.shape[1], f.shape[2], f.shape[3])
        var analysis = try FrequencyAnalysis(gridHeight: h, gridWidth: w, dimension: d)
        for start in stride(from: 0, to: b, by: perCall) {
            let count = min(perCall, b - start)
            try analysis.add(Array(f.maps[(start * h * w * d)..<((start + count) * h * w * d)]), batch: count)
        }
        #expect(analysis.steps == f.relative.count)
        #expect(maxDifference(analysis.relativeLogAmplitude, f.relative) <= 1e-4)
    }

    @Test func nearestClassCentre() throws {
        let c = fixture.classification
        var ncc = try NearestClassCentre(classes: c.classes, dimension: c.dimension)
        try ncc.add(c.train, labels: c.train_labels)
        #expect(maxDifference(ncc.centres, c.ncc_centres) <= 1e-5)
        let predicted = try ncc.predict(c.test, rows: c.test_labels.count)
        #expect(predicted == c.ncc_predictions)
        #expect(c.ncc_accuracy > 0.3 && c.ncc_accuracy < 0.95)
    }

    @Test(arguments: Device.all, [7, 60]) func weightedKNN(device: Device, block: Int) throws {
        let c = fixture.classification
        var search = try NeighbourSearch(queries: c.test, rows: c.test_labels.count, dimension: c.dimension, k: c.k,
                                         device: device)
        for start in stride(from: 0, to: c.train_labels.count, by: block) {
            let end = min(start + block, c.train_labels.count)
            try search.add(Array(c.train[(start * c.dimension)..<(end * c.dimension)]),
                           labels: Array(c.train_labels[start..<end]))
        }
        let similarities = search.neighbours.flatMap { $0.map { Double($0.similarity) } }
        #expect(maxDifference(similarities, c.knn_similarities) <= 1e-4)
        let ranked = KNNVote.rank(search.neighbours, classes: c.classes, temperature: c.temperature)
        #expect(ranked == c.knn_ranked)
        #expect(KNNVote.accuracy(ranked, labels: c.test_labels, top: 1) == c.knn_top1)
        #expect(KNNVote.accuracy(ranked, labels: c.test_labels, top: 5) == c.knn_top5)
        // The plain vote's winner is scikit-learn's KNeighborsClassifier prediction.
        let uniform = KNNVote.rank(search.neighbours, classes: c.classes, temperature: nil).map { $0[0] }
        #expect(uniform == c.uniform_predictions)
    }
}
