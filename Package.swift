// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Vitreous",
    products: [
        .library(name: "VitreousTensor", targets: ["VitreousTensor"]),
        .library(name: "VitreousImage", targets: ["VitreousImage"]),
        .library(name: "VitreousModel", targets: ["VitreousModel"]),
        .library(name: "VitreousRepair", targets: ["VitreousRepair"]),
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

        .target(
            name: "VitreousTensor",
            dependencies: [
                "COpenCL", "CCLBlast", "CBLAS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "VitreousImage", dependencies: ["VitreousTensor", "CPNG"]),
        .target(name: "VitreousModel", dependencies: ["VitreousTensor"]),
        .target(name: "VitreousRepair", dependencies: ["VitreousTensor", "VitreousModel", "CBLAS"]),
        .executableTarget(
            name: "vitreous-bench",
            dependencies: [
                "VitreousTensor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The API example shown in README.md (a test keeps the two identical).
        .executableTarget(name: "TensorExample", dependencies: ["VitreousTensor"], path: "Examples/TensorExample"),
        .testTarget(name: "VitreousTensorTests", dependencies: ["VitreousTensor"]),
        .testTarget(name: "VitreousImageTests", dependencies: ["VitreousImage"]),
        .testTarget(name: "VitreousRepairTests", dependencies: ["VitreousRepair", "VitreousModel"]),
        .testTarget(
            name: "VitreousModelTests",
            dependencies: ["VitreousModel"],
            // Read through #filePath, not as SwiftPM resources (Bundle.module breaks once .build moves).
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
