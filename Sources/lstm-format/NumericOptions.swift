import ArgumentParser
import Foundation
import LSTMFormat

extension Precision: ExpressibleByArgument {}

/// --precision, shared by the numerical commands.
struct PrecisionOptions: ParsableArguments {
    @Option(help: "Arithmetic precision: float32 or float64. float16/bfloat16 models compute in float32.")
    var precision: Precision = .float32
}

/// --rtol / --atol / --json, shared by verify and compare.
struct CheckOptions: ParsableArguments {
    // `.unconditional`: the value is the next argument even when it starts with '-', so `--rtol -1` reaches
    // validate() and is refused for what it is, not as a "missing value" (Spec/reliability.md, U3).
    @Option(parsing: .unconditional, help: "Relative tolerance (|a − e| ≤ atol + rtol·|e|). Default: see the command's help.")
    var rtol: Double?

    @Option(parsing: .unconditional, help: "Absolute tolerance. Default: see the command's help.")
    var atol: Double?

    @Flag(help: "Print the report as JSON (stable schema, see README).")
    var json = false

    func validate() throws {
        if let rtol, !(rtol >= 0 && rtol.isFinite) { throw ValidationError("--rtol must be a finite non-negative number, not \(rtol)") }
        if let atol, !(atol >= 0 && atol.isFinite) { throw ValidationError("--atol must be a finite non-negative number, not \(atol)") }
    }

    var tolerance: Tolerance? {
        if rtol == nil && atol == nil { return nil }
        return Tolerance(rtol: rtol ?? 0, atol: atol ?? 0, basis: "given: rtol \(rtol ?? 0), atol \(atol ?? 0)")
    }

    /// Prints the report, then the held notes (E2: the command has done its work), and maps its verdict to the exit
    /// code (0 pass, 1 a check failed).
    func finish(_ report: CheckReport) throws {
        print(json ? try report.json() : report.renderText())
        HeldNotes.shared.print()
        if !report.passed { throw CommandFailure(message: "", code: ExitStatus.checkFailed) }
    }
}

extension CheckReport {
    func json() throws -> String { try ReportJSON.encode(self) }
}

/// `Spec/reliability.md` U4: an output named for the other NumPy format is a usage mistake, not a file of one
/// format under the other's name (`forward --output y.npz` would write .npy bytes that np.load cannot open as .npz).
func refuseOtherArraySuffix(_ path: String, writes suffix: String, option: String) throws {
    let other = suffix == ".npy" ? ".npz" : ".npy"
    guard path.lowercased().hasSuffix(other) else { return }
    throw ValidationError("\(option) '\(path)' names a \(other) file, but this command writes \(suffix); name it *\(suffix)")
}

func readArray(_ path: String) throws -> Tensor {
    try NumPy.readNPY(URL(fileURLWithPath: path))
}

/// Inputs and targets must be finite: a NaN would only come back as NaN outputs and a failed check far from
/// its cause.
func readFiniteArray(_ path: String, role: String) throws -> Tensor {
    let t = try readArray(path)
    if let index = t.firstNonFiniteIndex() {
        throw CommandFailure(message: "\(path): the \(role) hold a non-finite value at [\(index.map(String.init).joined(separator: ", "))]", code: ExitStatus.failure)
    }
    return t
}

/// Model inputs from a .npy: float arrays (finite, as `readFiniteArray`) or, for a model with an embedding,
/// integer token ids [batch, steps] (int8 … int64, uint8 … uint64; M17). Integers for a model without an
/// embedding are refused here, whatever their shape, saying that the model takes float features (U6); the rest
/// of which kind the model takes is checked by the numerics, with a one-line error naming this file.
func readModelInput(_ path: String, for architecture: ModelArchitecture) throws -> ModelInput {
    let input: ModelInput
    do { input = try NumPy.readModelInput(URL(fileURLWithPath: path)) } catch let error as FileError where architecture.embedding == nil {
        // An integer array of another rank than [batch, steps] fails as token ids before the model is asked.
        if let numerics = error.underlying as? NumericsError, case .tokenShape = numerics { throw integerFeatures(path, architecture) }
        throw error
    }
    switch input {
    case .features(let t):
        if let index = t.firstNonFiniteIndex() {
            throw CommandFailure(message: "\(path): the inputs hold a non-finite value at [\(index.map(String.init).joined(separator: ", "))]", code: ExitStatus.failure)
        }
    case .tokens:
        if architecture.embedding == nil { throw integerFeatures(path, architecture) }
    }
    return input
}

/// U6: integer inputs for a model without an embedding.
private func integerFeatures(_ path: String, _ architecture: ModelArchitecture) -> CommandFailure {
    CommandFailure(message: "\(path): the inputs are integers, but the model has no embedding: it takes float features "
                   + "[batch, steps, \(architecture.inputSize)] (float16, float32 or float64)", code: ExitStatus.failure)
}
