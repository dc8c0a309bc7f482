import Foundation
import Testing

/// The NumPy / scikit-learn ground truth of Scripts/make-analysis-fixtures.py.
struct AnalysisFixture: Decodable {
    struct Attention: Decodable {
        let model: String, case_: String
        let shape: [Int], grid: [Int], patch: Int, first: Int
        let attention: [Float], distance: [Double], entropy: [Double]
        let masks: [[Int]], truths: [[Int]], jaccard: [Double]
        enum CodingKeys: String, CodingKey {
            case model, case_ = "case", shape, grid, patch, first, attention, distance, entropy, masks, truths, jaccard
        }
    }
    struct CKA: Decodable {
        let dimensions: [Int], rows: Int, minibatch: Int, features: [[Float]], cka: [[Double]]
    }
    struct Frequency: Decodable {
        let shape: [Int], maps: [Float], relative: [Double]
    }
    struct Classification: Decodable {
        let classes: Int, dimension: Int, k: Int, temperature: Double
        let train: [Float], train_labels: [Int], test: [Float], test_labels: [Int]
        let ncc_centres: [Double], ncc_predictions: [Int], ncc_accuracy: Double
        let knn_similarities: [Double], knn_ranked: [[Int]], knn_top1: Double, knn_top5: Double
        let uniform_predictions: [Int]
    }
    let attention: [Attention]
    let cka: CKA
    let frequency: Frequency
    let classification: Classification

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    static let shared: AnalysisFixture = {
        let url = folder.appendingPathComponent("Fixtures/analysis.json")
        do {
            return try JSONDecoder().decode(AnalysisFixture.self, from: Data(contentsOf: url))
        } catch {
            preconditionFailure("cannot read \(url.path): \(error); run Scripts/make-analysis-fixtures.py")
        }
    }()

    /// The model fixtures of VitreousModelTests (PyTorch / transformers outputs of seeded random weights).
    static func modelFixture(_ relative: String) -> URL {
        folder.deletingLastPathComponent().appendingPathComponent("VitreousModelTests/Fixtures/\(relative)")
    }
}

/// The largest |a − b|, failing on a length mismatch.
func maxDifference(_ a: [Double], _ b: [Double]) -> Double {
    #expect(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
