// swift-tools-version:6.2
import Foundation
import PackageDescription

/// How the `lstm-format` executable is linked so that a process starts fast (the isolated read starts two per
/// conversion; Spec/reliability.md P3): lld; libstdc++ from its static archive (Linking/static holds a linker
/// script `libstdc++.so` that the Swift driver's `-lstdc++` finds first), as libhdf5, libsz and libdeflate are
/// (their module maps), so only libc, libm, libgcc_s and zlib (named by ZIPFoundation's pkg-config) are mapped;
/// relative relocations packed (DT_RELR, glibc 2.36+: 2 MB of RELA entries become 16 KB); no dynamic symbol table
/// of the executable's own symbols (nothing loads a library that links back to them). Still position-independent.
let startupLinkerFlags = [
    "-L", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Linking/static").path,
    "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
]

/// Generic types instantiated by our code (`Dictionary<Gate, …>`, `[String: Tensor]`) are built by direct metadata
/// calls, not by the runtime demangling their mangled names, which checks each generic requirement by scanning every
/// protocol conformance of this large static binary (~400,000 instructions a scan; Spec/reliability.md P3a).
/// Unsafe flags on a library target: SwiftPM accepts them in a version-pinned dependency only from tools version
/// 6.2 on (hence the tools version above; with 6.0 a client's `from: "…"` was refused with "the target
/// 'LSTMFormat' in product 'LSTMFormat' contains unsafe build flags").
let metadataAccessorFlags = ["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]

let package = Package(
    name: "LSTMFormat",
    products: [
        .library(name: "LSTMFormat", targets: ["LSTMFormat"]),
        .executable(name: "lstm-format", targets: ["lstm-format"]),
        .executable(name: "lstm-format-bench", targets: ["lstm-format-bench"]),
    ],
    dependencies: [
        // Command-line parsing: subcommands, help text, validation.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        // Zip archives: Keras 3 `.keras` files and numpy `.npz` files are zips.
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // Protobuf runtime for ONNX files (the Swift code is generated once by scripts/gen_onnx_proto.sh).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // libhdf5 (Debian: libhdf5-dev), exposed through a shim header, linked from its static archive
        // (Sources/CHDF5/module.modulemap; Spec/reliability.md P3).
        .systemLibrary(
            name: "CHDF5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        // zlib (Debian: zlib1g-dev): inflating deflated zip members (`.keras`, `.npz`, `.pt`) with a bounded output.
        .systemLibrary(
            name: "CZlibShim",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // libdeflate (Debian: libdeflate-dev): every CRC-32 (`.lstm` header and tensors, zip members), 3.5x zlib's.
        // Linked from its static archive (its module map), not pkg-config's -ldeflate: one library fewer to map at
        // every start (Spec/reliability.md P3).
        .systemLibrary(
            name: "CLibDeflate",
            providers: [.apt(["libdeflate-dev"])]
        ),
        // OpenBLAS (Debian: libopenblas-dev): GEMM for the verifier's forward pass and BPTT. Opened on first use
        // (dlopen), not linked, so commands that do no math never load it (Spec/reliability.md P3).
        .target(
            name: "CBLAS",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // Linux calls Swift cannot make directly (prctl, memfd_create, posix_spawn with file actions) and the
        // async-signal-safe removal of temporary files on SIGINT/SIGTERM (Spec/reliability.md, P1, W2).
        .target(name: "CSystemShim"),
        // float32 <-> float16 array conversion with the CPU's F16C instructions (software fallback elsewhere).
        .target(name: "CFloatConversion"),
        // float32 AVX-512 kernels for the LSTM time loop: per-step products on packed weights with the gate
        // arithmetic fused in (Spec/bptt.md B34-B36).
        .target(name: "CStepKernels"),
        // The layout layer's 4-byte transposes with AVX2 register transposes (Spec/layout.md, G6).
        .target(name: "CByteCopy"),
        .target(
            name: "LSTMFormat",
            dependencies: [
                "CHDF5", "CZlibShim", "CLibDeflate", "CBLAS", "CSystemShim", "CFloatConversion", "CStepKernels", "CByteCopy",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.unsafeFlags(metadataAccessorFlags)]
        ),
        .executableTarget(
            name: "lstm-format",
            dependencies: [
                "LSTMFormat", "CSystemShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The Swift runtime and Foundation linked in, not loaded as ~15 shared libraries at every start (the
            // command and its isolated-read child each pay it; Spec/reliability.md P3). Set here, not on the
            // command line, so every build of the tool (debug, release, tests, CI) is linked the same way. The
            // compile flag makes this module's objects name every static library Foundation needs (ICU's too).
            swiftSettings: [.unsafeFlags(["-static-stdlib"] + metadataAccessorFlags)],
            linkerSettings: [.unsafeFlags(["-static-stdlib"] + startupLinkerFlags)]
        ),
        // Throughput benchmark of the `.lstm` reader and writer (`swift run -c release lstm-format-bench-compact`).
        .executableTarget(
            name: "lstm-format-bench-compact",
            dependencies: ["LSTMFormat"]
        ),
        // Benchmark of the verifier (forward, forward + BPTT); `scripts/bench.sh` compares it with PyTorch.
        .executableTarget(
            name: "lstm-format-bench",
            dependencies: ["LSTMFormat"]
        ),
        .testTarget(
            name: "LSTMFormatTests",
            dependencies: ["LSTMFormat"]
        ),
    ]
)
