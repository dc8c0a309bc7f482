// swift-tools-version: 6.1
// Regression-tracking benchmarks of Vitreous's hot operations with ordo-one/benchmark, kept in their own
// package so the main build stays light. Run from this folder: `swift package benchmark`.
import PackageDescription

let package = Package(
    name: "VitreousBenchmarks",
    dependencies: [
        .package(name: "Vitreous", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "TensorOps",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VitreousTensor", package: "Vitreous"),
                .product(name: "VitreousModel", package: "Vitreous"),
            ],
            path: "Benchmarks/TensorOps",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
