import Testing
@testable import VitreousImage
import VitreousTensor

@Suite("Transforms and colour maps")
struct TransformTests {
    @Test("antialiased bilinear 4 → 2 matches weights worked out by hand")
    func bilinearByHand() throws {
        // Scale 2: support 2, centre 1 for output 0 → taps 0, 1, 2 with triangle weights 0.75, 0.75, 0.25
        // (normalised by 1.75); output 1 (centre 3) → taps 1, 2, 3 with 0.25, 0.75, 0.75.
        let image = try Image(width: 4, height: 1, channels: 1, pixels: [0, 0.4, 0.8, 1])
        let out = try image.resized(width: 2, height: 1, filter: .bilinearAntialiased)
        let expected: [Float] = [(0.75 * 0 + 0.75 * 0.4 + 0.25 * 0.8) / 1.75, (0.25 * 0.4 + 0.75 * 0.8 + 0.75 * 1) / 1.75]
        #expect(zip(out.pixels, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(out.pixels)")
    }

    @Test("bicubic keeps constants and identity sizes exactly")
    func bicubicInvariants() throws {
        let flat = try Image.filled(width: 37, height: 23, color: [0.25, 0.5, 0.75])
        for filter in ResampleWeights.Filter.allCases {
            let out = try flat.resized(width: 14, height: 50, filter: filter)
            #expect(out.pixels.allSatisfy { abs($0 - 0.25) < 1e-6 || abs($0 - 0.5) < 1e-6 || abs($0 - 0.75) < 1e-6 })
            for row in ResampleWeights(input: 37, output: 14, filter: filter).taps {
                #expect(abs(row.reduce(0) { $0 + $1.weight } - 1) < 1e-12, "\(filter) weights sum to 1")
            }
        }
        let ramp = try Image(width: 3, height: 1, channels: 1, pixels: [0.1, 0.2, 0.3])
        #expect(try ramp.resized(width: 3, height: 1) == ramp)
    }

    @Test("DINOv2 evaluation transform: shorter side 256, centre crop 224")
    func centerCropPolicy() throws {
        let image = try Image.filled(width: 400, height: 300, color: [1, 0, 0])
        let resized = try image.rgb8.resized(shorterSide: 256)
        #expect(resized.width == 341 && resized.height == 256)
        #expect(resized.bytes.allSatisfy { $0 == 0 || $0 == 255 }, "a constant image stays constant")
        let cropped = try ResizePolicy.centerCrop(size: 224).apply(to: image)
        #expect(cropped.width == 224 && cropped.height == 224)
        let nearest = try ResizePolicy.nearestMultiple(of: 14).apply(to: image)
        #expect(nearest.width == 406 && nearest.height == 294)
        #expect(throws: ImageError.self) { try image.rgb8.centerCropped(width: 500, height: 10) }
        #expect(throws: ImageError.self) { try image.resized(width: 0, height: 10) }
    }

    @Test("normalised NCHW batch tensor", arguments: Device.all)
    func batchTensor(device: Device) throws {
        var image = try Image.filled(width: 28, height: 14, color: [0.485, 0.456, 0.406])
        image[3, 2, 1] = 1
        let tensor = try Preprocessor(resize: .exact(width: 28, height: 14)).tensor([image, image], on: device)
        #expect(tensor.shape == [2, 3, 14, 28])
        let values = try tensor.toArray()
        let greenAt = (1 * 14 + 2) * 28 + 3
        #expect(abs(values[greenAt] - (1 - 0.456) / 0.224) < 1e-5)
        #expect(values.enumerated().allSatisfy { $0.offset % (3 * 14 * 28) == greenAt || abs($0.element) < 1e-6 })
        let other = try Image.filled(width: 14, height: 14, color: [0, 0, 0])
        #expect(throws: ImageError.self) {
            try Preprocessor(resize: .nearestMultiple(of: 14)).tensor([image, other], on: device)
        }
    }

    @Test("viridis end points and overlay blending")
    func colorMap() throws {
        let low = ColorMap.viridis.color(0), high = ColorMap.viridis.color(1)
        #expect(low == (0.267004, 0.004874, 0.329415))
        #expect(high == (0.993248, 0.906157, 0.143936))
        #expect(ColorMap.viridis.color(.nan) == low && ColorMap.viridis.color(7) == high)
        let heat = try ColorMap.viridis.image([0, 1, 2, 3], width: 2, height: 2)
        #expect(heat.pixels[0] == low.0 && heat.pixels[9...11].elementsEqual([high.0, high.1, high.2]))
        let base = try Image.filled(width: 4, height: 4, color: [0, 0, 0])
        let flatHeat = try Image.filled(width: 2, height: 2, color: [1, 1, 1])
        let blended = try ColorMap.overlay(flatHeat, on: base, opacity: 0.25)
        #expect(blended.pixels.allSatisfy { abs($0 - 0.25) < 1e-6 })
    }
}

@Suite("source regions: where the encoder's input lies in the original image")
struct ImageRectTests {
    @Test("centre crop of 640×480 at 224: resize to 341×256, crop at (58, 16), mapped back to the original's pixels")
    func centerCrop() {
        let region = ResizePolicy.centerCrop(size: 224).sourceRegion(width: 640, height: 480)
        let sx = 640.0 / 341, sy = 480.0 / 256
        #expect(abs(region.x - 58 * sx) < 1e-9 && abs(region.y - 16 * sy) < 1e-9)
        #expect(abs(region.width - 224 * sx) < 1e-9 && abs(region.height - 224 * sy) < 1e-9)
        #expect(!region.coversWhole(width: 640, height: 480))
        // Portrait: the crop is taken from the middle rows.
        let portrait = ResizePolicy.centerCrop(size: 224).sourceRegion(width: 300, height: 500)
        #expect(portrait.x == 16 * 300.0 / 256 && abs(portrait.y - 101 * 500.0 / 426) < 1e-9)
    }

    @Test("the region is what the crop holds: cropping the resized image there gives the policy's output")
    func matchesApply() throws {
        let original = try RGB8Image(width: 97, height: 61, bytes: (0..<(97 * 61 * 3)).map { UInt8(($0 * 37) % 251) })
        let policy = ResizePolicy.centerCrop(size: 42)
        let region = policy.sourceRegion(width: 97, height: 61)
        let resized = try original.resized(shorterSide: 42 * 256 / 224)
        let left = Int((region.x * Double(resized.width) / 97).rounded())
        let top = Int((region.y * Double(resized.height) / 61).rounded())
        #expect(try resized.cropped(x: left, y: top, width: 42, height: 42) == policy.apply(to: original))
    }

    @Test("resizing policies keep the whole image")
    func whole() {
        for policy in [ResizePolicy.exact(width: 28, height: 28), .nearestMultiple(of: 14)] {
            #expect(policy.sourceRegion(width: 50, height: 30).coversWhole(width: 50, height: 30))
        }
    }

    @Test("an overlay on a region: blended inside, the original faded outside, at the original's size")
    func overlay() throws {
        let base = try Image.filled(width: 40, height: 20, color: [0, 0, 0])
        let heat = try Image.filled(width: 2, height: 2, color: [1, 0, 0])
        let region = ImageRect(x: 10, y: 0, width: 20, height: 20)
        let out = try ColorMap.overlay(heat, on: base, region: region, opacity: 0.5)
        #expect(out.width == 40 && out.height == 20)
        #expect(abs(out[15, 10, 0] - 0.5) < 1e-6 && out[15, 10, 1] == 0)
        #expect(abs(out[2, 10, 0] - 0.55) < 1e-6 && abs(out[2, 10, 1] - 0.55) < 1e-6)
        #expect(throws: ImageError.self) {
            try ColorMap.overlay(heat, on: base, region: ImageRect(x: 50, y: 0, width: 5, height: 5))
        }
    }
}
