import VitreousTensor

/// Resizing and cropping, with the filters PIL and torchvision use.
extension Image {
    /// The image resampled to `width × height` with `filter` (antialiased bicubic by default: PIL's
    /// `BICUBIC`, which torchvision uses for DINOv2's evaluation transform). Computed in float, without
    /// PIL's rounding to 8 bits between the horizontal and vertical pass (differences ≤ 1/255).
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

    /// Shorter side scaled to `size`, the other in proportion (truncated, as torchvision's `Resize(int)`).
    public func resized(shorterSide size: Int) throws -> Image {
        guard size > 0 else { throw ImageError.invalidSize("shorter side \(size)") }
        if width <= height {
            return try resized(width: size, height: max(1, size * height / width))
        }
        return try resized(width: max(1, size * width / height), height: size)
    }

    /// The central `width × height` pixels (offsets rounded as torchvision's `CenterCrop`).
    public func centerCropped(width cropWidth: Int, height cropHeight: Int) throws -> Image {
        guard cropWidth <= width, cropHeight <= height else {
            throw ImageError.invalidSize("cannot crop \(cropWidth)×\(cropHeight) out of \(width)×\(height)")
        }
        let left = Int((Double(width - cropWidth) / 2).rounded(.toNearestOrEven))
        let top = Int((Double(height - cropHeight) / 2).rounded(.toNearestOrEven))
        return try cropped(x: left, y: top, width: cropWidth, height: cropHeight)
    }
}

/// How images are brought to the encoder's input size.
public enum ResizePolicy: Sendable, Equatable {
    /// DINOv2's evaluation transform: shorter side to `size · 256 / 224`, then the central `size × size`
    /// (224 → resize 256, crop 224). `size` must be a multiple of the patch size.
    case centerCrop(size: Int)
    /// Each side scaled to the nearest multiple of `patch` (at least one patch), aspect kept as well as
    /// that allows. Every image keeps its whole content.
    case nearestMultiple(of: Int)
    /// Exactly `width × height`, aspect ignored.
    case exact(width: Int, height: Int)

    /// The image as the encoder will see it.
    public func apply(to image: Image) throws -> Image {
        switch self {
        case .centerCrop(let size):
            guard size > 0 else { throw ImageError.invalidSize("crop size \(size)") }
            return try image.resized(shorterSide: size * 256 / 224).centerCropped(width: size, height: size)
        case .nearestMultiple(let patch):
            guard patch > 0 else { throw ImageError.invalidSize("patch size \(patch)") }
            func nearest(_ side: Int) -> Int { max(patch, Int((Double(side) / Double(patch)).rounded()) * patch) }
            return try image.resized(width: nearest(image.width), height: nearest(image.height))
        case .exact(let width, let height):
            return try image.resized(width: width, height: height)
        }
    }
}

/// Turns images into the encoder's input: resize, ImageNet mean/std normalisation, NCHW float tensor.
public struct Preprocessor: Sendable {
    public var resize: ResizePolicy
    public var mean: [Float]
    public var std: [Float]

    /// ImageNet statistics, which every DINOv2 model was trained with.
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

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
