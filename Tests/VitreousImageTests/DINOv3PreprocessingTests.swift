import Foundation
import Testing
import VitreousImage
import VitreousModel

/// DINOv3's evaluation preprocessing against transformers' DINOv3ViTImageProcessor (Fixtures/dinov3, written by
/// Scripts/make-dinov3-fixtures.py from the Pillow-decoded photo): rescale to [0, 1], antialiased bilinear resize of
/// the whole image in float, ImageNet mean/std. Bound 1e-4 absolute on normalised values (float32 rounding of
/// two separable passes, measured near 2e-6).
@Suite("DINOv3 preprocessing")
struct DINOv3PreprocessingTests {
    @Test("matches transformers' DINOv3 image processor", arguments: [(112, 112), (80, 48)])
    func matchesProcessor(width: Int, height: Int) throws {
        let expected = try NPYArray(contentsOf: PillowFixtures.folder.appendingPathComponent(
            "dinov3/photo-baseline_\(width)x\(height).npy"))
        #expect(expected.shape == [3, height, width])
        let image = try ImageFile.read(PillowFixtures.path("photo-baseline.jpg"))
        let policy = ResizePolicy.stretchBilinear(width: width, height: height)
        #expect(policy.outputSize(width: image.width, height: image.height) == (width, height))
        let tensor = try Preprocessor(resize: policy).tensor([try policy.prepare(image)])
        #expect(tensor.shape == [1, 3, height, width])
        let values = try tensor.toArray()
        let error = zip(values, expected.floats).map { abs(Double($0) - Double($1)) }.max() ?? .infinity
        #expect(error <= 1e-4, "\(width)×\(height): max error \(error)")
        // The same through the float-image path the Preprocessor takes for decoded images.
        let direct = try Preprocessor(resize: policy).tensor([image.image]).toArray()
        let directError = zip(direct, expected.floats).map { abs(Double($0) - Double($1)) }.max() ?? .infinity
        #expect(directError <= 1e-4, "\(width)×\(height) via Image: max error \(directError)")
        // The whole image is used: no crop.
        #expect(policy.sourceRegion(width: image.width, height: image.height).coversWhole(width: image.width,
                                                                                            height: image.height))
    }
}
