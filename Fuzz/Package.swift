// swift-tools-version: 6.1
// libFuzzer harnesses for Vitreous's parsers of untrusted input, kept in their own package so the main build
// stays light. Build and run them with Scripts/fuzz.sh (see Fuzz/README.md); a plain `swift build` of this
// package without `-sanitize=fuzzer` does not link, as libFuzzer supplies the driver.
import PackageDescription

let vitreous: (String) -> Target.Dependency = { .product(name: $0, package: "Vitreous") }

let package = Package(
    name: "VitreousFuzz",
    dependencies: [
        .package(name: "Vitreous", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzSafetensors", dependencies: ["FuzzDriver", vitreous("VitreousModel")]),
        .executableTarget(name: "FuzzPNG", dependencies: ["FuzzDriver", vitreous("VitreousImage")]),
        // JPEG and WebP share one execution body; the harnesses differ in their seed corpora.
        .target(name: "FuzzImageDecoding", dependencies: [vitreous("VitreousImage")]),
        .executableTarget(name: "FuzzJPEG", dependencies: ["FuzzDriver", "FuzzImageDecoding"]),
        .executableTarget(name: "FuzzWebP", dependencies: ["FuzzDriver", "FuzzImageDecoding"]),
        .executableTarget(
            name: "FuzzCLI",
            dependencies: [
                "FuzzDriver", vitreous("VitreousCLI"), vitreous("VitreousModel"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "FuzzCheckpoint",
                          dependencies: ["FuzzDriver", vitreous("VitreousModel"), vitreous("VitreousTensor")]),
    ],
    swiftLanguageModes: [.v6]
)
