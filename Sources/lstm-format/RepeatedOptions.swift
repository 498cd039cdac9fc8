import ArgumentParser
import Foundation

/// `Spec/reliability.md` U1: every option of the tool takes one value, and ArgumentParser silently keeps the last
/// of an option given twice (`--dtype float16 … --dtype float32` would convert to float32). An option repeated
/// with the same value is accepted; with different values it is a usage mistake naming the option and both values.
enum RepeatedOptions {
    /// The long names of the options that take a value, per subcommand, from ArgumentParser's own description of
    /// the commands (so a new option is covered without a list to keep in step).
    static let valued: [String: Set<String>] = {
        struct Name: Decodable { var kind: String; var name: String }
        struct Argument: Decodable { var kind: String; var names: [Name]? }
        struct Command: Decodable { var commandName: String; var arguments: [Argument]?; var subcommands: [Command]? }
        struct Info: Decodable { var command: Command }
        guard let info = try? JSONDecoder().decode(Info.self, from: Data(LSTMFormatCommand._dumpHelp().utf8)) else { return [:] }
        var out: [String: Set<String>] = [:]
        for sub in info.command.subcommands ?? [] {
            out[sub.commandName] = Set((sub.arguments ?? []).filter { $0.kind == "option" }
                .flatMap { ($0.names ?? []).filter { $0.kind == "long" }.map(\.name) })
        }
        return out
    }()

    /// Throws a `ValidationError` (exit 64) when an option is given twice with different values.
    static func check(_ arguments: [String]) throws {
        // Only a command line with some `--name` twice needs ArgumentParser's description of the options.
        let longNames = arguments.prefix { $0 != "--" }.filter { $0.hasPrefix("--") }.map { $0.dropFirst(2).split(separator: "=", maxSplits: 1).first.map(String.init) ?? "" }
        guard Set(longNames).count < longNames.count,
              let command = arguments.first(where: { !$0.hasPrefix("-") }), let options = valued[command] else { return }
        var seen: [String: String] = [:]
        var k = 0
        while k < arguments.count, arguments[k] != "--" {
            let token = arguments[k]
            k += 1
            guard token.hasPrefix("--") else { continue }
            let parts = token.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
            guard let name = parts.first, options.contains(name) else { continue }
            let value: String
            if parts.count == 2 { value = parts[1] } else if k < arguments.count { value = arguments[k]; k += 1 } else { continue }
            if let previous = seen[name], previous != value {
                throw ValidationError("--\(name) is given twice with different values ('\(previous)' and '\(value)'); give it once")
            }
            seen[name] = value
        }
    }
}
