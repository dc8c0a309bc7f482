import Foundation
import VitreousAnalysis
import VitreousImage
import VitreousModel
import VitreousTensor

// `vitreous analyze` on images in memory: the library's LayerAnalysis over a packed batch, its report as
// analysis.json and as dense arrays. See include/vitreous.h for the contract of each function.

/// What an analysis handle stands for: a finished report and its analysis.json bytes (NUL-terminated).
final class AnalysisObject: Sendable {
    let report: LayerAnalysisReport
    let json: [UInt8]

    init(report: LayerAnalysisReport, json: Data) {
        self.report = report
        self.json = Array(json) + [0]
    }
}

/// Images per forward pass: the CLI's default `--batch`, which bounds the attention maps held at once.
private let analysisChunk = 8

/// What one analysis call was asked for, checked before any image is encoded.
struct AnalysisRequest {
    var metrics: Set<AnalysisMetric>
    var labels: AnalysisLabels?
    var masks: [UInt8]?
    var k: Int, temperature: Double, ckaMinibatch: Int

    /// The options' metadata in analysis.json (as the CLI's `options`, with what C passes instead of paths).
    var options: [String: Any] {
        ["metrics": metrics.map(\.rawValue).sorted(), "labels": labels == nil ? "none" : "given",
         "split": labels?.hasSplit == true ? "given" : "none", "masks": masks == nil ? "none" : "given",
         "k": k, "temperature": temperature, "cka_minibatch": ckaMinibatch]
    }
}

/// Reads and checks the C arguments of `vitreous_analyze_rgb8` other than the images.
func analysisRequest(_ metrics: UnsafePointer<CChar>?, _ labels: UnsafePointer<Int32>?,
                     _ validation: UnsafePointer<UInt8>?, _ masks: UnsafePointer<UInt8>?, _ maskSize: Int,
                     batch: Int, k: Int32, temperature: Double, ckaMinibatch: Int32,
                     _ function: String) throws -> AnalysisRequest {
    guard k >= 0 else { throw CAPIError(.invalidArgument, "\(function): k \(k); it must be at least 1 (0: 20)") }
    guard temperature >= 0, temperature.isFinite else {
        throw CAPIError(.invalidArgument, "\(function): temperature \(temperature); it must be positive (0: 0.07)")
    }
    guard ckaMinibatch == 0 || ckaMinibatch >= 4 else {
        throw CAPIError(.invalidArgument, "\(function): cka_minibatch \(ckaMinibatch); it must be at least 4 "
            + "(the unbiased estimator needs 4; 0: 256)")
    }
    if validation != nil, labels == nil {
        throw CAPIError(.invalidArgument, "\(function): validation flags without labels; pass labels too")
    }
    var classes: AnalysisLabels?
    if let labels {
        let values = UnsafeBufferPointer(start: labels, count: batch).map(Int.init)
        let flags = validation.map { UnsafeBufferPointer(start: $0, count: batch).map { $0 != 0 } }
        if let bad = values.first(where: { $0 < 0 }) {
            throw CAPIError(.invalidArgument, "\(function): label \(bad) is negative; labels are 0, 1, 2, ...")
        }
        classes = try AnalysisLabels(labels: values, validation: flags)
    }
    var maskBytes: [UInt8]?
    if let masks {
        try checkCapacity(maskSize, needed: 1, function, "masks (bytes)")
        maskBytes = Array(UnsafeBufferPointer(start: masks, count: maskSize))
    }
    let chosen: Set<AnalysisMetric>
    if let metrics, metrics.pointee != 0 {
        chosen = try AnalysisMetric.parse(String(cString: metrics))
    } else {
        chosen = AnalysisMetric.allowed(hasLabels: classes != nil, hasMasks: maskBytes != nil)
    }
    if classes == nil, let needs = chosen.first(where: { $0 == .ncc || $0 == .knn }) {
        throw CAPIError(.invalidArgument, "\(function): metric \(needs.rawValue) needs labels")
    }
    if maskBytes == nil, chosen.contains(.segmentation) {
        throw CAPIError(.invalidArgument, "\(function): metric segmentation needs masks")
    }
    let request = AnalysisRequest(metrics: chosen, labels: classes, masks: maskBytes, k: k == 0 ? 20 : Int(k),
                                  temperature: temperature == 0 ? 0.07 : temperature,
                                  ckaMinibatch: ckaMinibatch == 0 ? 256 : Int(ckaMinibatch))
    if let classes, chosen.contains(.ncc) || chosen.contains(.knn) {
        try classes.validate(k: chosen.contains(.knn) ? request.k : nil)
    }
    return request
}

/// Streams `images` through the model in chunks, folds them into a ``LayerAnalysis`` and finishes it.
func runAnalysis(_ images: [RGB8Image], model: ModelObject, settings: EncodeSettings, request: AnalysisRequest,
                 _ function: String) throws -> AnalysisObject {
    let encoder = model.encoder, config = encoder.config
    let options = AnalysisMetric.encoderOptions(for: request.metrics, depth: config.depth,
                                                base: try settings.encoderOptions(depth: config.depth, function))
    var analysis = try LayerAnalysis(metrics: request.metrics, config: config, labels: request.labels,
                                     ckaMinibatch: request.ckaMinibatch)
    let policy = try settings.policy(for: config, function)
    for start in stride(from: 0, to: images.count, by: analysisChunk) {
        let positions = Array(start..<min(start + analysisChunk, images.count))
        let tensor = try batchTensor(positions.map { images[$0] }, policy: policy, patch: config.patchSize,
                                     on: encoder.device, function)
        let output = try encoder.encode(tensor, options: options)
        var masks: [[Bool]?]?
        if let bytes = request.masks {
            let cells = output.gridHeight * output.gridWidth
            guard bytes.count == images.count * cells else {
                throw CAPIError(.invalidArgument, "\(function): masks hold \(bytes.count) bytes; the images are encoded "
                    + "on a \(output.gridWidth)×\(output.gridHeight) patch grid, so \(images.count) × \(cells) = "
                    + "\(images.count * cells) are needed (one byte per patch, row-major)")
            }
            masks = positions.map { image in bytes[(image * cells)..<((image + 1) * cells)].map { $0 != 0 } }
        }
        try analysis.add(output, positions: positions, masks: masks)
    }
    let report = try analysis.finish(k: request.k, temperature: request.temperature, device: encoder.device)
    let metadata: [String: Any] = [
        "version": "\(vitreousVersion)", "device": encoder.device.description,
        "config": LayerAnalysisReport.configMetadata(config),
        "options": request.options, "classes": request.labels.map { Array(0..<$0.classCount) } ?? [],
    ]
    return AnalysisObject(report: report, json: try LayerAnalysisReport.json(report.document(metadata: metadata)))
}

/// `vitreous_status vitreous_analyze_rgb8(const vitreous_model *, const uint8_t *pixels, size_t size, int32_t batch,
/// int32_t width, int32_t height, const vitreous_options *, const char *metrics, const int32_t *labels,
/// const uint8_t *validation, const uint8_t *masks, size_t mask_size, int32_t k, double temperature,
/// int32_t cka_minibatch, vitreous_analysis **analysis)`.
@_cdecl("vitreous_analyze_rgb8")
public func vitreous_analyze_rgb8(_ model: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ size: Int,
                                  _ batch: Int32, _ width: Int32, _ height: Int32, _ options: OpaquePointer?,
                                  _ metrics: UnsafePointer<CChar>?, _ labels: UnsafePointer<Int32>?,
                                  _ validation: UnsafePointer<UInt8>?, _ masks: UnsafePointer<UInt8>?,
                                  _ maskSize: Int, _ k: Int32, _ temperature: Double, _ ckaMinibatch: Int32,
                                  _ analysis: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_analyze_rgb8"
    analysis?.pointee = nil
    return entry(function) {
        let object = try HandleRegistry.shared.model(model, function)
        let pixels = try required(pixels, function, "pixels")
        let analysis = try required(analysis, function, "analysis")
        let settings = try settings(options, function)
        let images = try packedImages(pixels, size, batch, width, height, function)
        let request = try analysisRequest(metrics, labels, validation, masks, maskSize, batch: images.count, k: k,
                                          temperature: temperature, ckaMinibatch: ckaMinibatch, function)
        analysis.pointee = HandleRegistry.shared.insert(try runAnalysis(images, model: object, settings: settings,
                                                                        request: request, function))
    }
}

/// `vitreous_status vitreous_analysis_json(const vitreous_analysis *, char *buffer, size_t capacity, size_t *needed)`.
@_cdecl("vitreous_analysis_json")
public func vitreous_analysis_json(_ analysis: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                                   _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    let function = "vitreous_analysis_json"
    return entry(function) {
        let object: AnalysisObject = try HandleRegistry.shared.object(analysis, "analysis", function)
        needed?.pointee = object.json.count
        if buffer == nil, capacity == 0, needed != nil { return }
        let bytes = object.json.map { CChar(bitPattern: $0) }
        try copyOut(bytes, to: buffer, count: capacity, function, "buffer (bytes)")
    }
}

/// `vitreous_status vitreous_analysis_values(const vitreous_analysis *, const char *name, double *out,
/// size_t capacity, int32_t *rows, int32_t *columns)`.
@_cdecl("vitreous_analysis_values")
public func vitreous_analysis_values(_ analysis: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                     _ out: UnsafeMutablePointer<Double>?, _ capacity: Int,
                                     _ rows: UnsafeMutablePointer<Int32>?, _ columns: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_analysis_values"
    return entry(function) {
        let object: AnalysisObject = try HandleRegistry.shared.object(analysis, "analysis", function)
        let name = String(cString: try required(name, function, "name"))
        let rows = try required(rows, function, "rows")
        let columns = try required(columns, function, "columns")
        guard let matrix = object.report.matrix(named: name) else {
            throw CAPIError(.invalidArgument, "\(function): '\(name)' was not measured; this analysis has "
                + availableMatrices(object.report).joined(separator: ", "))
        }
        (rows.pointee, columns.pointee) = (Int32(clamping: matrix.rows), Int32(clamping: matrix.columns))
        if out == nil, capacity == 0 { return }
        try copyOut(matrix.values, to: out, count: capacity, function, "out")
    }
}

/// The names ``LayerAnalysisReport/matrix(named:)`` answers for `report`.
private func availableMatrices(_ report: LayerAnalysisReport) -> [String] {
    let pooled = ["cka", "ncc", "knn-top1", "knn-top5"].flatMap { measure in
        LayerPooling.allCases.map { "\(measure)-\($0.rawValue)" }
    }
    let names = ["attention-distance", "entropy", "segmentation", "frequency"] + pooled
    let present = names.filter { report.matrix(named: $0) != nil }
    return present.isEmpty ? ["none"] : present
}

/// `vitreous_status vitreous_analysis_free(vitreous_analysis *analysis)`.
@_cdecl("vitreous_analysis_free")
public func vitreous_analysis_free(_ analysis: OpaquePointer?) -> Int32 {
    entry("vitreous_analysis_free") {
        guard analysis != nil else { return }  // free(NULL) is a no-op, as in C
        try HandleRegistry.shared.remove(analysis, kind: "analysis", "vitreous_analysis_free")
    }
}
