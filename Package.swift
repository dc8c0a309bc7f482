// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Vitreous",
    products: [
        .library(name: "VitreousTensor", targets: ["VitreousTensor"]),
        .library(name: "VitreousImage", targets: ["VitreousImage"]),
        .library(name: "VitreousModel", targets: ["VitreousModel"]),
        .library(name: "VitreousRepair", targets: ["VitreousRepair"]),
        .library(name: "VitreousFigure", targets: ["VitreousFigure"]),
        // Layer-by-layer measures of a model's regular behaviour: attention distance and entropy, CKA,
        // frequency, nearest-class-centre and k-NN accuracy, attention as segmentation.
        .library(name: "VitreousAnalysis", targets: ["VitreousAnalysis"]),
        // Synthetic models with planted artifacts and the demo image: what `vitreous demo`, the C API's demo
        // model and the tests run on.
        .library(name: "VitreousDemo", targets: ["VitreousDemo"]),
        // The float64 reference ops and encoder, NaN poisoning and seeded inputs: for the tests and
        // `vitreous-bench --verify`; no shipped library depends on it.
        .library(name: "VitreousTesting", targets: ["VitreousTesting"]),
        // The C API (include/vitreous.h). CMake builds it as the shared libvitreous.so for C and C++ programs.
        .library(name: "VitreousC", targets: ["VitreousC"]),
        // The `vitreous` commands as a library, for the fuzz harness in Fuzz/ (the executable only runs them).
        .library(name: "VitreousCLI", targets: ["VitreousCLI"]),
        .executable(name: "vitreous", targets: ["vitreous"]),
        .executable(name: "vitreous-bench", targets: ["vitreous-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries from Debian's packages (see Scripts/install-deps.sh).
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),
        .systemLibrary(name: "CCLBlast", path: "Sources/CCLBlast"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .systemLibrary(name: "CWebP", path: "Sources/CWebP"),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo"),
        .systemLibrary(name: "CLAPACK", path: "Sources/CLAPACK"),
        // OpenSSL's libcrypto, for SHA-256 (VitreousRepair's SHA256).
        .systemLibrary(name: "CLibCrypto", path: "Sources/CLibCrypto"),
        // include/vitreous.h as a module: the C API's tests call it through the header.
        .systemLibrary(name: "CVitreous", path: "include"),

        // The CPU backend's SIMD loops, one copy per instruction-set level, chosen at run time (never -march).
        .target(name: "CVitreousCPU"),
        // PNG decoding through libpng's low-level API (as Pillow decodes 16-bit files), with libpng's
        // setjmp-based errors caught in C.
        .target(name: "CVitreousPNG", linkerSettings: [.linkedLibrary("png16")]),

        .target(
            name: "VitreousTensor",
            dependencies: [
                "COpenCL", "CCLBlast", "CBLAS", "CVitreousCPU",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "VitreousImage", dependencies: ["VitreousTensor", "CPNG", "CVitreousPNG", "CTurboJPEG", "CWebP"]),
        .target(name: "VitreousModel", dependencies: ["VitreousTensor"]),
        .target(name: "VitreousRepair", dependencies: [
            "VitreousTensor", "VitreousModel", "CBLAS", "CLAPACK", "CLibCrypto",
        ]),
        // Labelled figures (colour bars, titles, captions, line plots) drawn with cairo, as PNG, PDF or SVG.
        .target(name: "VitreousFigure", dependencies: ["VitreousImage", "CCairo"]),
        .target(name: "VitreousDemo", dependencies: ["VitreousModel", "VitreousImage"]),
        .target(name: "VitreousAnalysis", dependencies: ["VitreousTensor", "VitreousModel", "CBLAS"]),
        .target(name: "VitreousTesting", dependencies: ["VitreousTensor", "VitreousModel"]),
        .target(name: "VitreousC", dependencies: ["VitreousTensor", "VitreousModel", "VitreousImage", "VitreousRepair",
                                                  "VitreousDemo", "VitreousAnalysis",
                                                  .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "VitreousCLI",
            dependencies: [
                "VitreousModel", "VitreousImage", "VitreousRepair", "VitreousFigure", "VitreousDemo", "VitreousAnalysis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "vitreous", dependencies: ["VitreousCLI"]),
        .executableTarget(
            name: "vitreous-bench",
            dependencies: [
                "VitreousTensor", "VitreousModel", "VitreousTesting", "VitreousRepair", "VitreousDemo", "VitreousAnalysis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The API examples shown in README.md (a test keeps each copy identical).
        .executableTarget(name: "TensorExample", dependencies: ["VitreousTensor"], path: "Examples/TensorExample"),
        .executableTarget(name: "EncoderExample", dependencies: ["VitreousModel", "VitreousImage"],
                          path: "Examples/EncoderExample"),
        .testTarget(name: "VitreousTensorTests", dependencies: ["VitreousTensor", "VitreousTesting"]),
        .testTarget(name: "VitreousImageTests",
                    dependencies: ["VitreousImage", "VitreousModel", "VitreousRepair"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "VitreousRepairTests",
                    dependencies: ["VitreousRepair", "VitreousModel", "VitreousDemo", "VitreousTesting"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "VitreousAnalysisTests",
                    dependencies: ["VitreousAnalysis", "VitreousModel", "VitreousTensor", "VitreousDemo"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "VitreousFigureTests", dependencies: ["VitreousFigure", "VitreousImage"]),
        // Imports CVitreous (the header) and links VitreousC (the functions it declares) without importing it.
        .testTarget(name: "VitreousCTests", dependencies: ["CVitreous", "VitreousC", "VitreousTensor", "VitreousModel",
                                                           "VitreousImage", "VitreousRepair", "VitreousDemo"]),
        // Runs the built `vitreous` executable; depending on it makes SwiftPM build it first.
        .testTarget(name: "VitreousCLITests",
                    dependencies: ["vitreous", "VitreousModel", "VitreousImage", "VitreousTensor", "VitreousFigure"]),
        .testTarget(
            name: "VitreousModelTests",
            dependencies: ["VitreousModel", "VitreousDemo", "VitreousTesting"],
            // Read through #filePath, not as SwiftPM resources (Bundle.module breaks once .build moves).
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
