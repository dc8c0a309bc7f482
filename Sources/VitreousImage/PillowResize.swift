/// Pillow's resampling (`Image.resize`, libImaging's Resample.c) reproduced bit for bit on 8-bit images:
/// filter weights computed in double, normalised to sum 1, then quantised to 22-bit fixed point; a
/// horizontal pass, rounded and clipped to 8 bits, then a vertical pass over the 8-bit result (or the
/// other way round, where Pillow 13 chooses that order).
/// torchvision's `Resize` on a PIL image calls exactly this, so DINOv2's evaluation transform needs it to
/// agree with PyTorch pixel for pixel: a float resize differs by up to 15/255 at sharp edges.
public enum PillowResize {
    /// The filters torchvision uses on PIL images.
    public enum Filter: String, Sendable, CaseIterable {
        /// Pillow's `BICUBIC` (Keys' cubic with a = −0.5, support 2, widened when shrinking).
        case bicubic
        /// Pillow's `BILINEAR` (triangle, support 1, widened when shrinking).
        case bilinear

        var support: Double { self == .bicubic ? 2 : 1 }

        func weight(_ distance: Double) -> Double {
            let x = abs(distance)
            switch self {
            case .bilinear:
                return x < 1 ? 1 - x : 0
            case .bicubic:
                let a = -0.5
                // The same expressions in the same order as Pillow: the weights must round alike.
                if x < 1 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            }
        }
    }

    /// 32 − 8 − 2: eight bits of result and two of headroom for the negative lobes.
    static let precisionBits = 22

    /// For each output sample: the first input sample it reads, how many, and their fixed-point weights.
    struct Coefficients {
        let first: [Int]
        let count: [Int]
        let taps: Int
        let weights: [Int]

        init(input: Int, output: Int, filter: Filter) {
            let scale = Double(Float(input)) / Double(output)
            let filterScale = max(scale, 1)
            let support = filter.support * filterScale
            let taps = Int(support.rounded(.up)) * 2 + 1
            var first = [Int](repeating: 0, count: output), count = first
            var weights = [Int](repeating: 0, count: output * taps)
            var row = [Double](repeating: 0, count: taps)
            let inverse = 1.0 / filterScale
            for out in 0..<output {
                let center = 0.0 + (Double(out) + 0.5) * scale
                let low = max(Int(center - support + 0.5), 0)
                let high = min(Int(center + support + 0.5), input) - low
                var total = 0.0
                for tap in 0..<high {
                    let w = filter.weight((Double(tap + low) - center + 0.5) * inverse)
                    row[tap] = w
                    total += w
                }
                for tap in 0..<max(high, 0) {
                    let w = total != 0 ? row[tap] / total : row[tap]
                    let fixed = w * Double(1 << PillowResize.precisionBits)
                    weights[out * taps + tap] = Int(w < 0 ? -0.5 + fixed : 0.5 + fixed)
                }
                first[out] = low
                count[out] = max(high, 0)
            }
            self.first = first
            self.count = count
            self.taps = taps
            self.weights = weights
        }
    }

    @inline(__always)
    static func clip8(_ sum: Int) -> UInt8 { UInt8(clamping: sum >> precisionBits) }

    /// `image` resampled to `width × height`, as Pillow's `image.resize((width, height), filter)`.
    public static func resize(_ image: RGB8Image, width: Int, height: Int, filter: Filter = .bicubic) throws -> RGB8Image {
        guard width > 0, height > 0, width * height <= PNG.maximumPixels else {
            throw ImageError.invalidSize("cannot resize to \(width)×\(height)")
        }
        if width == image.width && height == image.height { return image }
        let columns = Coefficients(input: image.width, output: width, filter: filter)
        let rows = Coefficients(input: image.height, output: height, filter: filter)
        if width == image.width {
            return RGB8Image(unchecked: width, height, vertical(image.bytes, width: width, rows: rows, skipped: 0))
        }
        if height == image.height {
            return RGB8Image(unchecked: width, height, horizontal(image.bytes, width: image.width, rows: 0..<height,
                                                                  columns: columns))
        }
        // Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many pixels as
        // the width does (python-pillow/Pillow#9549); the order changes the rounding between the passes.
        if height < image.height && image.height - height > 2 * (image.width - width) {
            let shrunk = vertical(image.bytes, width: image.width, rows: rows, skipped: 0)
            return RGB8Image(unchecked: width, height, horizontal(shrunk, width: image.width, rows: 0..<height,
                                                                  columns: columns))
        }
        // Otherwise horizontally first, over only the input rows the vertical pass reads, as Pillow does.
        let firstRow = rows.first[0], lastRow = rows.first[height - 1] + rows.count[height - 1]
        let stretched = horizontal(image.bytes, width: image.width, rows: firstRow..<lastRow, columns: columns)
        return RGB8Image(unchecked: width, height, vertical(stretched, width: width, rows: rows, skipped: firstRow))
    }

    /// The horizontal pass over input rows `rows` of an image `width` pixels wide.
    static func horizontal(_ bytes: [UInt8], width: Int, rows: Range<Int>, columns: Coefficients) -> [UInt8] {
        let outWidth = columns.first.count, half = 1 << (precisionBits - 1)
        var out = [UInt8](repeating: 0, count: rows.count * outWidth * 3)
        bytes.withUnsafeBufferPointer { source in
            for y in rows {
                let input = y * width * 3, output = (y - rows.lowerBound) * outWidth * 3
                for x in 0..<outWidth {
                    var r = half, g = half, b = half
                    let base = columns.first[x], offset = x * columns.taps
                    for tap in 0..<columns.count[x] {
                        let w = columns.weights[offset + tap], p = input + (base + tap) * 3
                        r += Int(source[p]) * w
                        g += Int(source[p + 1]) * w
                        b += Int(source[p + 2]) * w
                    }
                    out[output + x * 3] = clip8(r)
                    out[output + x * 3 + 1] = clip8(g)
                    out[output + x * 3 + 2] = clip8(b)
                }
            }
        }
        return out
    }

    /// The vertical pass over an image `width` pixels wide whose first `skipped` rows were left out.
    static func vertical(_ bytes: [UInt8], width: Int, rows: Coefficients, skipped: Int) -> [UInt8] {
        let height = rows.first.count, half = 1 << (precisionBits - 1), stride = width * 3
        var out = [UInt8](repeating: 0, count: height * stride)
        bytes.withUnsafeBufferPointer { source in
            for y in 0..<height {
                let base = rows.first[y] - skipped, offset = y * rows.taps
                for i in 0..<stride {
                    var sum = half
                    for tap in 0..<rows.count[y] {
                        sum += Int(source[(base + tap) * stride + i]) * rows.weights[offset + tap]
                    }
                    out[y * stride + i] = clip8(sum)
                }
            }
        }
        return out
    }
}

extension RGB8Image {
    /// The image resampled to `width × height` exactly as Pillow's `resize` does.
    public func resized(width: Int, height: Int, filter: PillowResize.Filter = .bicubic) throws -> RGB8Image {
        try PillowResize.resize(self, width: width, height: height, filter: filter)
    }
}
