// swift-tools-version:6.1
//
// The hot-kernel benchmark suite of TokenMDP, as a separate package so the
// main package's `swift test` never builds it (and never depends on
// package-benchmark). Run from this folder:
//
//     swift package benchmark                       # all benchmarks
//     swift package benchmark --filter "softVI.*"   # one group
//
// It depends on the root package by path; package-benchmark measures wall
// clock, CPU time, throughput and (through the MallocInterposer trait, no
// jemalloc needed) malloc counts, so "no per-edge allocation" is visible.
import PackageDescription

let package = Package(
    name: "TokenMDPBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "TokenMDP", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Kernels",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "TokenMDP", package: "TokenMDP"),
            ],
            path: "Benchmarks/Kernels",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
