// swift-tools-version:6.1
//
// TokenMDP — a research simulator for the token-level MDP view of language
// models. Targets:
//   * TokenMDP      the library: all the science (MDP → solvers → demonstrations
//                   → learners → decoding → metrics → experiments)
//   * tokenmdp      the command-line tool, a thin layer over the library
//   * COpenBLAS     system library (Debian: libopenblas-dev, liblapacke-dev);
//                   no stable API, only Sources/TokenMDP/Linalg imports it
//   * _TestSupport  helpers shared by the test bundles only
//
// Compile-time flag: TOKENMDP_INTERNAL_CHECKS (off by default) enables the
// expensive invariant checks (policy rows summing to 1 after every solve,
// O(H·S·V) extra work); add `-Xswiftc -DTOKENMDP_INTERNAL_CHECKS` to use it.
//
// Release builds of the library are compiled for the build machine's CPU
// (`-target-cpu native`: AVX2/AVX-512 for the 8-lane SIMD kernels of
// Core/FastMath.swift, about 2× faster soft value iteration than baseline
// x86-64). The kernels use no fused multiply-add and no libm, so results are
// bit-identical whatever CPU is targeted; only speed changes. To build a
// binary for other machines set TOKENMDP_TARGET_CPU (e.g. `x86-64`,
// `haswell`, or `none` for the compiler default) and rebuild from clean.
import Foundation
import PackageDescription

let targetCPU = ProcessInfo.processInfo.environment["TOKENMDP_TARGET_CPU"] ?? "native"
let releaseFlags = ["-Ounchecked"] + (targetCPU == "none" ? [] : ["-target-cpu", targetCPU])

let package = Package(
    name: "TokenMDP",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TokenMDP", targets: ["TokenMDP"]),
        .executable(name: "tokenmdp", targets: ["tokenmdp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"]), .brew(["openblas", "lapack"])]
        ),
        .target(
            name: "TokenMDP",
            dependencies: ["COpenBLAS", .product(name: "Yams", package: "Yams")],
            swiftSettings: [.unsafeFlags(releaseFlags, .when(configuration: .release))]
        ),
        .executableTarget(
            name: "tokenmdp",
            dependencies: ["TokenMDP", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "_TestSupport", dependencies: ["TokenMDP"], path: "Sources/_TestSupport"),
        .testTarget(name: "CoreTests", dependencies: ["TokenMDP", "_TestSupport"]),
        .testTarget(name: "MDPTests", dependencies: ["TokenMDP", "_TestSupport"]),
        .testTarget(name: "SolverTests", dependencies: ["TokenMDP", "_TestSupport"]),
        .testTarget(name: "LearnerTests", dependencies: ["TokenMDP", "_TestSupport"]),
        .testTarget(name: "DecodingTests", dependencies: ["TokenMDP", "_TestSupport"]),
        .testTarget(name: "ExperimentTests", dependencies: ["TokenMDP", "_TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TokenMDP", "_TestSupport"]),
        // Property-based fuzzing of every loader (Swift Testing + PropertyBased).
        // TOKENMDP_FUZZ_COUNT=N raises the number of cases per property (default 300).
        .testTarget(name: "FuzzTests", dependencies: [
            "TokenMDP", "_TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
