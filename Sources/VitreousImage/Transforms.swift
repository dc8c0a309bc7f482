import VitreousTensor

/// Resizing and cropping, with the filters PIL and torchvision use.
extension Image {
    /// The image resampled to `width × height` with `filter`, computed in float: for drawing (heatmaps
    /// over an image). It is not Pillow's resize — encoder inputs go through ``ResizePolicy``, which
    /// resamples 8-bit images exactly as Pillow does (the two differ by up to 15/255 at sharp edges).
    public func resized(width newWidth: Int, height newHeight: Int,
                        filter: ResampleWeights.Filter = .bicubicAntialiased) throws -> Image {
        guard newWidth > 0, newHeight > 0, newWidth * newHeight <= PNG.maximumPixels else {
            throw ImageError.invalidSize("cannot resize to \(newWidth)×\(newHeight)")
        }
        if newWidth == width && newHeight == height { return self }
        let resampled = try ResampleWeights.resize(
            pixels, height: height, width: width, channels: channels,
            rows: ResampleWeights(input: height, output: newHeight, filter: filter),
            columns: ResampleWeights(input: width, output: newWidth, filter: filter))
        return Image(unchecked: newWidth, newHeight, channels, resampled.map { min(max($0, 0), 1) })
    }
}

extension RGB8Image {
    /// Shorter side scaled to `size`, the other to `int(size · long / short)`: torchvision's `Resize(int)`
    /// output-size rule, resampled by Pillow's `resize` as torchvision does on a PIL image.
    public func resized(shorterSide size: Int, filter: PillowResize.Filter = .bicubic) throws -> RGB8Image {
        guard size > 0 else { throw ImageError.invalidSize("shorter side \(size)") }
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = max(1, Int(Double(size * long) / Double(short)))
        return width <= height ? try resized(width: size, height: newLong, filter: filter)
                               : try resized(width: newLong, height: size, filter: filter)
    }

    /// The central `width × height` pixels, the offsets rounded by `rounding`.
    public func centerCropped(width cropWidth: Int, height cropHeight: Int,
                              rounding: CropRounding = .torchvision) throws -> RGB8Image {
        guard cropWidth > 0, cropHeight > 0, cropWidth <= width, cropHeight <= height else {
            throw ImageError.invalidSize("cannot crop \(cropWidth)×\(cropHeight) out of \(width)×\(height)")
        }
        return try cropped(x: rounding.offset(width - cropWidth), y: rounding.offset(height - cropHeight),
                           width: cropWidth, height: cropHeight)
    }
}

/// How a centre crop places an odd margin: the two PyTorch pipelines differ by one pixel, which moves the
/// patch grid and the features far more than any resampling detail.
public enum CropRounding: String, Sendable, CaseIterable {
    /// torchvision's `CenterCrop`: `round(margin / 2)`, half to even (Python's `round`): 159 → 80.
    case torchvision
    /// transformers' image processors (`BitImageProcessor`, DINOv2's on the Hub): `margin // 2`: 159 → 79.
    case transformers

    func offset(_ margin: Int) -> Int {
        switch self {
        case .torchvision: return Int((Double(margin) / 2).rounded(.toNearestOrEven))
        case .transformers: return margin / 2
        }
    }
}

/// How images are brought to the encoder's input size. Every DINOv2 policy resamples with Pillow's 8-bit
/// bicubic, so an image prepared here is the image PyTorch's pipeline prepares from the same file; DINOv3's
/// (``stretchBilinear(width:height:)``) resamples in float as transformers' DINOv3 image processor does.
public enum ResizePolicy: Sendable, Equatable {
    /// DINOv2's evaluation transform: shorter side to `size · 256 / 224` (bicubic), then the central
    /// `size × size` (224 → resize 256, crop 224). `size` must be a multiple of the patch size.
    case centerCrop(size: Int, rounding: CropRounding = .torchvision)
    /// Each side scaled to the nearest multiple of `patch` (at least one patch), aspect kept as well as
    /// that allows. Every image keeps its whole content.
    case nearestMultiple(of: Int)
    /// Exactly `width × height`, aspect ignored.
    case exact(width: Int, height: Int)
    /// DINOv3's evaluation transform as transformers' `DINOv3ViTImageProcessor` defines it: the whole image to
    /// exactly `width × height` (224 × 224 there; aspect ignored, nothing cropped), resampled after scaling to
    /// [0, 1], in float, with antialiased bilinear (torchvision's `resize(antialias=True)` on a float tensor).
    /// Use ``prepare(_:)``: the 8-bit ``apply(to:)-(RGB8Image)`` rounds the result.
    case stretchBilinear(width: Int, height: Int)

    /// This policy for a DINOv3 model, which is evaluated on the whole image: a DINOv2 centre crop or exact
    /// size becomes ``stretchBilinear(width:height:)`` to the same output size (`--size 224` means 224 × 224
    /// for both families); ``nearestMultiple(of:)`` is kept. The CLI and the C API both resolve sizes here.
    public var forDINOv3: ResizePolicy {
        switch self {
        case .centerCrop(let side, _): return .stretchBilinear(width: side, height: side)
        case .exact(let width, let height): return .stretchBilinear(width: width, height: height)
        case .nearestMultiple, .stretchBilinear: return self
        }
    }

    /// The size an image of `width × height` comes out at.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch self {
        case .centerCrop(let size, _): return (size, size)
        case .nearestMultiple(let patch):
            func nearest(_ side: Int) -> Int { max(patch, Int((Double(side) / Double(patch)).rounded()) * patch) }
            return (nearest(width), nearest(height))
        case .exact(let width, let height), .stretchBilinear(let width, let height): return (width, height)
        }
    }

    /// The float image the encoder will see: ``apply(to:)-(RGB8Image)`` for the 8-bit policies, the float
    /// resample for ``stretchBilinear(width:height:)``.
    public func prepare(_ image: RGB8Image) throws -> Image {
        guard case .stretchBilinear(let width, let height) = self else { return try apply(to: image).image }
        guard width > 0, height > 0 else { throw ImageError.invalidSize("resize to \(width)×\(height)") }
        return try image.image.resized(width: width, height: height, filter: .bilinearAntialiased)
    }

    /// The image as the encoder will see it.
    public func apply(to image: RGB8Image) throws -> RGB8Image {
        switch self {
        case .centerCrop(let size, let rounding):
            guard size > 0 else { throw ImageError.invalidSize("crop size \(size)") }
            return try image.resized(shorterSide: size * 256 / 224)
                .centerCropped(width: size, height: size, rounding: rounding)
        case .nearestMultiple(let patch):
            guard patch > 0 else { throw ImageError.invalidSize("patch size \(patch)") }
            let size = outputSize(width: image.width, height: image.height)
            return try image.resized(width: size.width, height: size.height)
        case .exact(let width, let height):
            return try image.resized(width: width, height: height)
        case .stretchBilinear:
            return try prepare(image).rgb8
        }
    }

    /// The image as the encoder will see it. An image already at the output size is returned unchanged;
    /// any other is taken to 8 bits (exact for images decoded from files) and resampled as Pillow would.
    public func apply(to image: Image) throws -> Image {
        if case .stretchBilinear(let width, let height) = self {
            return try image.rgb().resized(width: width, height: height, filter: .bilinearAntialiased)
        }
        if case .centerCrop = self {} else {
            let size = outputSize(width: image.width, height: image.height)
            if size.width == image.width && size.height == image.height { return image.rgb() }
        }
        return try apply(to: image.rgb8).image
    }
}

/// Turns images into the encoder's input: resize, ImageNet mean/std normalisation, NCHW float tensor.
public struct Preprocessor: Sendable {
    /// How an image is brought to the model's input size.
    public var resize: ResizePolicy
    /// Per-channel mean subtracted from the 0…1 samples.
    public var mean: [Float]
    /// Per-channel standard deviation the centred samples are divided by.
    public var std: [Float]

    /// ImageNet statistics, which every DINOv2 model was trained with.
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    /// ImageNet's per-channel standard deviations.
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    /// A preprocessor with `resize`, normalising by `mean` and `std` (ImageNet's by default).
    public init(resize: ResizePolicy, mean: [Float] = imageNetMean, std: [Float] = imageNetStd) {
        self.resize = resize
        self.mean = mean
        self.std = std
    }

    /// `[batch, 3, height, width]` on `device`. Every image must come out of ``resize`` at one size.
    public func tensor(_ images: [Image], on device: Device = .default) throws -> Tensor {
        let prepared = try images.map { try resize.apply(to: $0.rgb()) }
        guard let first = prepared.first else { throw ImageError.invalidImage("no images to batch") }
        guard prepared.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            let sizes = Set(prepared.map { "\($0.width)×\($0.height)" }).sorted().joined(separator: ", ")
            throw ImageError.invalidSize("a batch needs one image size; got \(sizes)")
        }
        let plane = first.width * first.height
        var values = [Float](repeating: 0, count: prepared.count * 3 * plane)
        for (index, image) in prepared.enumerated() {
            for p in 0..<plane {
                for c in 0..<3 {
                    values[(index * 3 + c) * plane + p] = (image.pixels[p * 3 + c] - mean[c]) / std[c]
                }
            }
        }
        return try Tensor(values, shape: [prepared.count, 3, first.height, first.width], on: device)
    }

    /// The inverse of ``tensor(_:on:)`` for one image: a normalised `[3, height, width]` plane set back to
    /// RGB pixels, clamped to [0, 1]. Synthetic inputs made in model space (the demo's) become viewable images.
    public func image(normalised values: [Float], width: Int, height: Int) throws -> Image {
        let plane = width * height
        guard width > 0, height > 0, values.count == 3 * plane else {
            throw ImageError.invalidSize("\(values.count) values are not 3 planes of \(width)×\(height)")
        }
        var pixels = [Float](repeating: 0, count: 3 * plane)
        for c in 0..<3 {
            for p in 0..<plane {
                pixels[p * 3 + c] = min(max(values[c * plane + p] * std[c] + mean[c], 0), 1)
            }
        }
        return try Image(width: width, height: height, channels: 3, pixels: pixels)
    }
}

extension Image {
    /// Each pixel repeated into a `factor × factor` block: patch-grid maps drawn at image scale with crisp cells.
    public func upscaled(by factor: Int) throws -> Image {
        guard factor >= 1, width * factor * height * factor <= PNG.maximumPixels else {
            throw ImageError.invalidSize("cannot upscale \(width)×\(height) by \(factor)")
        }
        var out = [Float](repeating: 0, count: width * factor * height * factor * channels)
        for y in 0..<(height * factor) {
            for x in 0..<(width * factor) {
                let source = ((y / factor) * width + x / factor) * channels
                let target = (y * width * factor + x) * channels
                for c in 0..<channels { out[target + c] = pixels[source + c] }
            }
        }
        return Image(unchecked: width * factor, height * factor, channels, out)
    }
}

extension Image {
    /// Images of one height side by side, `gap` pixels of `background` between them: before/after panels.
    public static func sideBySide(_ images: [Image], gap: Int = 8, background: Float = 1) throws -> Image {
        let panels = images.map { $0.rgb() }
        guard let height = panels.first?.height, panels.allSatisfy({ $0.height == height }) else {
            throw ImageError.invalidImage("side by side needs images of one height")
        }
        let width = panels.reduce(0) { $0 + $1.width } + gap * (panels.count - 1)
        var pixels = [Float](repeating: background, count: width * height * 3)
        var left = 0
        for panel in panels {
            for y in 0..<height {
                let target = (y * width + left) * 3, source = y * panel.width * 3
                for i in 0..<(panel.width * 3) { pixels[target + i] = panel.pixels[source + i] }
            }
            left += panel.width + gap
        }
        return try Image(width: width, height: height, channels: 3, pixels: pixels)
    }
}
