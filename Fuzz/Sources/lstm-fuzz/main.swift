import CFuzzer
import Foundation

// lstm-fuzz TARGET [libFuzzer options] CORPUS...   |   lstm-fuzz --list   |   lstm-fuzz --seeds TARGET
// Top-level code calls libFuzzer's LLVMFuzzerRunDriver (libclang_rt.fuzzer_no_main). scripts/fuzz.sh builds it
// with coverage and AddressSanitizer and is the way to run it.
var arguments = CommandLine.arguments
if arguments.count >= 2, arguments[1] == "--list" {
    for t in targets { print(t.name) }
    exit(0)
}
if arguments.count >= 3, arguments[1] == "--seeds" {
    guard let t = targets.first(where: { $0.name == arguments[2] }) else { exit(64) }
    for s in t.seeds { print(s) }
    exit(0)
}
guard arguments.count >= 2, let target = targets.first(where: { $0.name == arguments[1] }) else {
    FileHandle.standardError.write(Data("usage: lstm-fuzz TARGET [libFuzzer options] CORPUS... (targets: \(targets.map(\.name).joined(separator: ", ")))\n".utf8))
    exit(64)
}
nonisolated(unsafe) var selected: @Sendable (Data) -> Void = target.run
arguments.remove(at: 1)
var argc = Int32(arguments.count)
var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
cArguments.withUnsafeMutableBufferPointer { buffer in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, size in
        selected(bytes.map { Data(bytes: $0, count: size) } ?? Data())
        return 0
    })
}
