// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for every parser of untrusted bytes (`scripts/fuzz.sh --list`). A package of its own: the
// fuzz driver links only with `-sanitize=fuzzer`, which the main package's plain `swift build` must not need.
let package = Package(
    name: "LSTMFormatFuzz",
    dependencies: [
        .package(name: "LSTMFormat", path: ".."),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // One header: libFuzzer's LLVMFuzzerRunDriver, called from top-level code.
        .systemLibrary(name: "CFuzzer"),
        .executableTarget(
            name: "lstm-fuzz",
            dependencies: [
                "CFuzzer",
                .product(name: "LSTMFormat", package: "LSTMFormat"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
    ]
)
