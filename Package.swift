// swift-tools-version:6.0
import PackageDescription

// Direction of dependencies (see DESIGN.md): cotforge (CLI) → {Shards → Corpus, Train → Model};
// Hashing (SHA-256 over libcrypto) is shared by Shards and Model.
// System libraries are found through pkg-config; `providers` names the Debian package.
// COpenBLAS is declared for the model and trainer targets; nothing links it before they exist
// (OpenBLAS starts its thread pool when loaded, which would tax every command).
let package = Package(
    name: "cotforge",
    products: [
        .executable(name: "cotforge", targets: ["cotforge"]),
        .library(name: "Corpus", targets: ["Corpus"]),
        .library(name: "Shards", targets: ["Shards"]),
        .library(name: "Model", targets: ["Model"]),
        .library(name: "Train", targets: ["Train"]),
        .library(name: "Recipes", targets: ["Recipes"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Recipe files are YAML (~17 s of clean build; bundles libyaml).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CArchive", path: "Sources/CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // The spin-wait hint the engine's worker threads poll with (one inline function).
        .target(name: "CSpin", path: "Sources/CSpin"),
        .target(name: "Hashing", dependencies: ["CCrypto"]),
        .target(name: "Corpus", dependencies: ["CZstd", "Hashing"]),
        .target(name: "Shards", dependencies: ["Corpus", "Hashing", "CZstd", "CArchive"]),
        // The engine knows nothing of corpora: GGUF, tensors, tokenizer, forward pass, fetch.
        // Optimized in debug builds too: the engine's loops run hundreds of times slower
        // unoptimized, which would make the real-model tests take many minutes.
        .target(name: "Model", dependencies: ["Hashing", "CArchive", "CSpin"], swiftSettings: [.unsafeFlags(["-O", "-Xcc", "-march=x86-64-v3"])]),
        // The trainer: one model definition with the engine, backward passes, AdamW, LoRA.
        // Optimized in debug builds for the same reason as the engine.
        .target(name: "Train", dependencies: ["Model", "Corpus", "Hashing"], swiftSettings: [.unsafeFlags(["-O", "-Xcc", "-march=x86-64-v3"])]),
        // The pipelines that tie the libraries together: recipe files and `cotforge build`.
        .target(name: "Recipes", dependencies: ["Corpus", "Shards", "Model", "Train", "Hashing",
                                                .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "cotforge", dependencies: [
            "Corpus", "Shards", "Model", "Train", "Recipes", "Hashing",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Helpers shared by the test targets (temporary folders, a seeded generator).
        .target(name: "TestSupport", dependencies: ["Hashing"], path: "Tests/TestSupport"),
        .testTarget(name: "CorpusTests", dependencies: ["Corpus", "TestSupport"]),
        .testTarget(name: "ShardsTests", dependencies: ["Shards", "Corpus", "Hashing", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Hashing", "CArchive", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainTests", dependencies: ["Train", "Model", "Corpus", "Shards", "TestSupport"]),
        .testTarget(name: "RecipesTests", dependencies: ["Recipes", "Train", "Model", "Corpus", "Shards", "TestSupport"]),
    ]
)
