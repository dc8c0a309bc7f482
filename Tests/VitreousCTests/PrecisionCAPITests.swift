import Foundation
import CVitreous
import Testing
import VitreousDemo
import VitreousModel
import VitreousTensor

/// The C API's precision entry points: a bf16 demo model encodes as the Swift bf16 encoder does, loading with a
/// precision reads it back, and codes that are no precision, or that the device does not run, are refused.
@Suite("C API precision")
struct PrecisionCAPITests {
    static func model(demo precision: Int32, device: Int32 = 0) -> (OpaquePointer?, Outcome) {
        var handle: OpaquePointer?
        let outcome = Outcome(vitreous_model_create_demo_with_precision(device, precision, &handle))
        return (handle, outcome)
    }

    @Test("a bf16 demo model matches the Swift bf16 encoder and reports its precision")
    func bf16Demo() throws {
        let (handle, outcome) = Self.model(demo: Int32(VITREOUS_PRECISION_BF16.rawValue))
        #expect(outcome.status == VITREOUS_OK, "\(outcome)")
        defer { _ = vitreous_model_free(handle) }
        var precision: Int32 = -1
        #expect(vitreous_model_get_precision(handle, &precision) == VITREOUS_OK)
        #expect(precision == Int32(VITREOUS_PRECISION_BF16.rawValue))
        let planes = PlantedArtifacts.image(layout: .isolated, seed: 7)
        var result: OpaquePointer?
        #expect(vitreous_encode_float(handle, planes, planes.count, 224, 224, 1, 3, &result) == VITREOUS_OK)
        let cls = try CResult(result).read(64) { vitreous_result_cls(result, $0, $1) }
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: .planted, seed: 0)
            .tensors(on: .cpu, precision: .bf16))
        let swift = try encoder.encode(try Tensor(planes, shape: [1, 3, 224, 224], on: .cpu)).cls.toArray()
        #expect(relativeError(cls, swift) == 0)

        var auto: OpaquePointer?
        #expect(vitreous_model_create_demo_with_precision(0, Int32(VITREOUS_PRECISION_AUTO.rawValue), &auto) == VITREOUS_OK)
        defer { _ = vitreous_model_free(auto) }
        #expect(vitreous_model_get_precision(auto, &precision) == VITREOUS_OK)
        #expect(precision == (Precision.cpuHasNativeBF16 ? 1 : 0))
    }

    @Test("load with a precision; bad codes and precisions the device lacks are INVALID_ARGUMENT")
    func loadAndRefuse() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-precision-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        try PlantedArtifacts.weights(variant: .planted, seed: 0).write(to: url, layout: .original)
        try Data(#"{"num_attention_heads": 4}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
        var handle: OpaquePointer?
        #expect(vitreous_model_load_with_precision(url.path, 0, 1, &handle) == VITREOUS_OK)
        var precision: Int32 = -1
        #expect(vitreous_model_get_precision(handle, &precision) == VITREOUS_OK && precision == 1)
        _ = vitreous_model_free(handle)

        for code: Int32 in [-1, 4] {
            let (model, outcome) = Self.model(demo: code)
            #expect(outcome.status == VITREOUS_ERROR_INVALID_ARGUMENT && model == nil, "\(code): \(outcome)")
            #expect(outcome.message.contains("precision \(code)"), "\(outcome)")
        }
        let (fp16, outcome) = Self.model(demo: Int32(VITREOUS_PRECISION_FP16.rawValue))
        #expect(outcome.status == VITREOUS_ERROR_INVALID_ARGUMENT && fp16 == nil, "\(outcome)")
        #expect(vitreous_model_get_precision(nil, &precision) != VITREOUS_OK)
    }
}
