import VitreousImage

extension PlantedArtifacts {
    /// The seed of the demo image that `vitreous demo` writes and `vitreous_demo_image_rgb8` returns.
    public static let demoImageSeed: UInt64 = 7

    /// Textured noise (the foreground) with flat cells where the ``Layout/isolated`` layout puts background,
    /// in 0…1 pixels: ``image(layout:seed:)`` mapped back through the ImageNet normalisation, so encoding it
    /// with the default preprocessing gives the planted model its input again (up to 8-bit rounding once
    /// saved as PNG).
    /// - Throws: only if the preprocessing rejects the fixed 224×224 size, which it does not.
    public static func demoImage(seed: UInt64 = demoImageSeed) throws -> Image {
        let side = imageSize
        return try Preprocessor(resize: .exact(width: side, height: side))
            .image(normalised: image(layout: .isolated, seed: seed), width: side, height: side)
    }
}
