/// The RGB feature maps of DINOv2's demos: the first three principal components of the patch features,
/// fitted jointly over a set of images so that one colour means one kind of feature in all of them, shown as
/// red, green and blue.
///
/// With a foreground split (DINOv2's recipe) the first component separates background from foreground:
/// patches whose first component, scaled to 0…1 over the fitted patches and oriented so that the patches on
/// the image border score high, exceed ``ForegroundSplit/threshold`` are background (drawn black); a second
/// basis fitted on the foreground patches alone colours the rest.
///
/// The whole state is `Codable`: save it and project new images with ``map(_:grid:)`` to give them the colours
/// of the images it was fitted on.
public struct PatchFeaturePCA: Codable, Sendable, Equatable {
    /// How background is told from foreground.
    public struct ForegroundSplit: Codable, Sendable, Equatable {
        /// Patches above this oriented, scaled first-component score are background. DINOv2's demo uses 0.35.
        public let threshold: Float
        /// True when background is where the first component is high (false: where it is low).
        public let backgroundHigh: Bool
        /// The basis fitted on the foreground patches only.
        public let basis: PCABasis
    }

    /// One image's map: an RGB triple per patch (0…1, row-major) and which patches are foreground.
    public struct Map: Sendable, Equatable {
        /// The image's patch grid.
        public let grid: PatchGrid
        /// Red, green and blue per patch, row-major: the scaled components (black for background).
        public let rgb: [Float]
        /// Per patch, whether it is foreground (all true without a split).
        public let foreground: [Bool]
    }

    /// The basis fitted on all patches.
    public let basis: PCABasis
    /// The foreground split, when fitted with one.
    public let foreground: ForegroundSplit?
    /// How many images and patches the fit used.
    public let imageCount: Int, patchCount: Int

    /// Fits the maps' basis over `images`: each the patch tokens of one image (`grid.count × dimension`,
    /// row-major), with its grid. A `foregroundThreshold` also fits the foreground split.
    /// - Throws: ``RepairError`` when the images' sizes disagree with their grids or the dimension, or when
    ///   fewer than two patches are foreground.
    public static func fit(images: [(tokens: [Float], grid: PatchGrid)], dimension: Int,
                           foregroundThreshold: Float? = nil) throws -> PatchFeaturePCA {
        guard !images.isEmpty else { throw RepairError.invalidArgument("PCA needs at least one image") }
        for (index, image) in images.enumerated() where image.tokens.count != image.grid.count * dimension {
            throw RepairError.shapeMismatch("image \(index): \(image.tokens.count) values for a \(image.grid) of \(dimension)")
        }
        let all = images.flatMap(\.tokens)
        let basis = try PCABasis.fit(all, dimension: dimension)
        let patches = all.count / dimension
        guard let threshold = foregroundThreshold else {
            return PatchFeaturePCA(basis: basis, foreground: nil, imageCount: images.count, patchCount: patches)
        }
        guard threshold.isFinite, threshold > 0, threshold < 1 else {
            throw RepairError.invalidArgument("foreground threshold \(threshold) is not inside 0…1")
        }
        // Orientation: the border is mostly background, so background is the side the border patches lean to.
        var borderSum = 0.0, borderCount = 0, allSum = 0.0
        var first: [[Float]] = []
        for image in images {
            let scores = try firstScores(image.tokens, basis: basis)
            first.append(scores)
            for (index, score) in scores.enumerated() {
                allSum += Double(score)
                let cell = image.grid.cell(at: index)
                if cell.row == 0 || cell.column == 0 || cell.row == image.grid.height - 1
                    || cell.column == image.grid.width - 1 {
                    borderSum += Double(score)
                    borderCount += 1
                }
            }
        }
        let backgroundHigh = borderSum / Double(max(borderCount, 1)) >= allSum / Double(patches)
        var foregroundTokens: [Float] = []
        for (image, scores) in zip(images, first) {
            for (index, score) in scores.enumerated()
            where !isBackground(score, threshold: threshold, backgroundHigh: backgroundHigh) {
                foregroundTokens += image.tokens[(index * dimension)..<((index + 1) * dimension)]
            }
        }
        guard foregroundTokens.count >= 2 * dimension else {
            throw RepairError.invalidArgument(String(format: "fewer than 2 of %d patches are foreground at threshold %.2f",
                                                     patches, threshold))
        }
        let split = ForegroundSplit(threshold: threshold, backgroundHigh: backgroundHigh,
                                    basis: try PCABasis.fit(foregroundTokens, dimension: dimension))
        return PatchFeaturePCA(basis: basis, foreground: split, imageCount: images.count, patchCount: patches)
    }

    /// The RGB map of one image's patch tokens (`grid.count × dimension`), coloured on the fitted scale.
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when the tokens do not fill the grid at the basis' dimension.
    public func map(_ tokens: [Float], grid: PatchGrid) throws -> Map {
        guard tokens.count == grid.count * basis.dimension else {
            throw RepairError.shapeMismatch("\(tokens.count) values for a \(grid) of \(basis.dimension)")
        }
        guard let split = foreground else {
            return Map(grid: grid, rgb: basis.scaled(try basis.project(tokens)),
                       foreground: [Bool](repeating: true, count: grid.count))
        }
        let scores = try Self.firstScores(tokens, basis: basis)
        let mask = scores.map { !Self.isBackground($0, threshold: split.threshold, backgroundHigh: split.backgroundHigh) }
        let colours = split.basis.scaled(try split.basis.project(tokens))
        var rgb = [Float](repeating: 0, count: grid.count * 3)
        for p in 0..<grid.count where mask[p] {
            for c in 0..<3 { rgb[p * 3 + c] = colours[p * 3 + c] }
        }
        return Map(grid: grid, rgb: rgb, foreground: mask)
    }

    /// The first component of each token, scaled 0…1 on the fitted range (unclamped beyond it).
    private static func firstScores(_ tokens: [Float], basis: PCABasis) throws -> [Float] {
        let k = basis.components.count, span = basis.high[0] - basis.low[0]
        let projection = try basis.project(tokens)
        return stride(from: 0, to: projection.count, by: k).map { span > 0 ? (projection[$0] - basis.low[0]) / span : 0.5 }
    }

    private static func isBackground(_ score: Float, threshold: Float, backgroundHigh: Bool) -> Bool {
        (backgroundHigh ? score : 1 - score) > threshold
    }
}
