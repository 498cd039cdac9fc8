import Foundation
import LSTMFormat

/// The read options of `ModelReadOptions` as plain values: what the isolated read's child needs, which parses
/// its command line without ArgumentParser (`Spec/reliability.md` P3).
struct ReadRequest: Equatable {
    var kerasConfig: String?
    var kerasByName = false
    var architecture: String?
    var key: String?
    var noVerifyChecksums = false

    /// The options as command-line arguments (the flags of `ModelReadOptions`), for the child process.
    var arguments: [String] {
        (kerasConfig.map { ["--config", $0] } ?? []) + (kerasByName ? ["--by-name"] : []) + (architecture.map { ["--architecture", $0] } ?? [])
            + (key.map { ["--key", $0] } ?? []) + (noVerifyChecksums ? ["--no-verify-checksums"] : [])
    }

    /// Takes the read option at `arguments[index]` (and its value), advancing `index` past it; false when the
    /// argument is not a read option. Throws a usage error for a missing value.
    mutating func take(_ arguments: [String], at index: inout Int) throws -> Bool {
        func value() throws -> String {
            guard index + 1 < arguments.count else { throw UsageProblem("\(arguments[index]) needs a value") }
            index += 1
            return arguments[index]
        }
        switch arguments[index] {
        case "--config": kerasConfig = try value()
        case "--by-name": kerasByName = true
        case "--architecture": architecture = try value()
        case "--key": key = try value()
        case "--no-verify-checksums": noVerifyChecksums = true
        default: return false
        }
        index += 1
        return true
    }

    func readOptions() throws -> ReadOptions {
        // E2: held, printed once the command has done its work (the child hands them to the parent).
        var options = ReadOptions(verifyChecksums: !noVerifyChecksums, warn: { HeldNotes.shared.add($0) }, describeHint: CLIHints.text)
        if let path = kerasConfig {
            options.keras = KerasReadOptions(config: try Self.contents(path), configPath: path)
        }
        if let key { options.torch = TorchReadOptions(key: key) }
        options.keras.byName = kerasByName
        if let path = architecture {
            do {
                options.architecture = try ModelArchitecture.fromJSON(try Self.contents(path))
            } catch let e as FileError {
                throw e
            } catch {
                throw FileError(path: path, underlying: error)
            }
        }
        return options
    }

    private static func contents(_ path: String) throws -> Data {
        do {
            try IOProblem.requireFile(URL(fileURLWithPath: path))
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let problem as IOProblem {
            throw FileError(path: path, underlying: problem)
        } catch {
            throw FileError(path: path, underlying: IOProblem.cannotOpen(IOProblem.reason(error)))
        }
    }
}

/// A malformed command line of the internal child (exit 64).
struct UsageProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
