import Foundation
import VitreousAnalysis
import VitreousTensor

/// The results of `analyze` (computed by ``LayerAnalysis/finish(k:temperature:device:)``) and their files.
struct AnalyzeReport {
    var state: AnalyzeState
    let k: Int
    let temperature: Double
    let device: Device
    /// Per pooling: accuracy per layer.
    var ncc: [LayerPooling: [Double]] = [:]
    var knn: [LayerPooling: (top1: [Double], top5: [Double])] = [:]
    var cka: [LayerPooling: [[Double]]] = [:]

    init(state: AnalyzeState, k: Int, temperature: Double, device: Device) {
        self.state = state
        self.k = k
        self.temperature = temperature
        self.device = device
    }

    /// The library's numbers: the streamed measures, CKA, and NCC and k-NN from the stored features.
    var numbers = LayerAnalysisReport()

    mutating func classify() throws {
        do {
            numbers = try state.analysis.finish(k: k, temperature: temperature, device: device)
        } catch let error as AnalysisError {
            throw CLIError("\(error)")
        }
        ncc = numbers.ncc
        knn = numbers.knn
        cka = numbers.cka
    }
}
