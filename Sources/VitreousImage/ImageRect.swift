/// A rectangle in an image's or a figure's coordinates (origin top left, fractional where the geometry is):
/// the part of an original image a resize policy keeps, a crop box, a panel or colour bar of a figure.
public struct ImageRect: Sendable, Equatable {
    /// The top-left corner and the size.
    public var x: Double, y: Double, width: Double, height: Double

    /// A rectangle from its top-left corner and size.
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// True when the rectangle is the whole `width × height` image (nothing was cropped away).
    public func coversWhole(width: Int, height: Int) -> Bool {
        x <= 0 && y <= 0 && self.width >= Double(width) && self.height >= Double(height)
    }
}

extension ResizePolicy {
    /// The part of a `width × height` original that ``apply(to:)`` keeps: for ``centerCrop(size:rounding:)`` the
    /// central square its crop takes (the same output-size rule as ``RGB8Image/resized(shorterSide:filter:)`` and
    /// the same offset rounding as ``RGB8Image/centerCropped(width:height:rounding:)``), otherwise the whole image.
    public func sourceRegion(width: Int, height: Int) -> ImageRect {
        guard case .centerCrop(let size, let rounding) = self, size > 0, width > 0, height > 0 else {
            return ImageRect(x: 0, y: 0, width: Double(width), height: Double(height))
        }
        let shorter = size * 256 / 224
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = max(1, Int(Double(shorter * long) / Double(short)))
        let (resizedWidth, resizedHeight) = width <= height ? (shorter, newLong) : (newLong, shorter)
        let left = Double(rounding.offset(resizedWidth - size)), top = Double(rounding.offset(resizedHeight - size))
        let sx = Double(width) / Double(resizedWidth), sy = Double(height) / Double(resizedHeight)
        return ImageRect(x: left * sx, y: top * sy, width: Double(size) * sx, height: Double(size) * sy)
    }
}

extension ColorMap {
    /// `heatmap` stretched over `region` of `base` (at `base`'s own resolution) and blended in with `opacity`;
    /// outside the region, which the encoder did not see, `base` is shown faded towards white. `crisp` keeps each
    /// heatmap cell a sharp block (nearest neighbour) instead of interpolating between cells.
    public static func overlay(_ heatmap: Image, on base: Image, region: ImageRect, opacity: Float = 0.6,
                               crisp: Bool = false) throws -> Image {
        let background = base.rgb()
        let left = max(0, Int(region.x.rounded())), top = max(0, Int(region.y.rounded()))
        let width = min(background.width - left, max(1, Int(region.width.rounded())))
        let height = min(background.height - top, max(1, Int(region.height.rounded())))
        guard width > 0, height > 0 else { throw ImageError.invalidSize("the region lies outside the image") }
        let crop = try background.cropped(x: left, y: top, width: width, height: height)
        let inside = crisp ? try crispOverlay(heatmap.rgb(), on: crop, opacity: opacity)
            : try overlay(heatmap, on: crop, opacity: opacity)
        var pixels = background.pixels.map { 0.45 * $0 + 0.55 }
        for y in 0..<height {
            let target = ((top + y) * background.width + left) * 3, source = y * width * 3
            for i in 0..<(width * 3) { pixels[target + i] = inside.pixels[source + i] }
        }
        return try Image(width: background.width, height: background.height, channels: 3, pixels: pixels)
    }
}

extension ColorMap {
    /// `cells` stretched to `base`'s size by nearest neighbour and blended over it with `opacity`.
    static func crispOverlay(_ cells: Image, on base: Image, opacity: Float) throws -> Image {
        let alpha = min(max(opacity, 0), 1)
        var pixels = base.pixels
        for y in 0..<base.height {
            let row = min(cells.height - 1, y * cells.height / base.height)
            for x in 0..<base.width {
                let column = min(cells.width - 1, x * cells.width / base.width)
                for c in 0..<3 {
                    let target = (y * base.width + x) * 3 + c
                    pixels[target] = alpha * cells.pixels[(row * cells.width + column) * 3 + c] + (1 - alpha) * pixels[target]
                }
            }
        }
        return try Image(width: base.width, height: base.height, channels: 3, pixels: pixels)
    }
}
