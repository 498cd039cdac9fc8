import ArgumentParser
import Foundation
import LSTMFormat

/// `Spec/reliability.md` U2: the environment variables that set limits must hold a value of the documented form;
/// an invalid one is a usage mistake naming the variable and the accepted form, not silently the default.
enum EnvironmentSettings {
    static func check(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let text = environment[MemoryBudget.variable], MemoryBudget.parse(text) == nil {
            throw ValidationError("\(MemoryBudget.variable)='\(text)' is not a byte count: give bytes with an optional K, M, G or T suffix (powers of 1024), e.g. 8G")
        }
        if let text = environment[IsolatedRead.timeoutVariable], IsolatedRead.seconds(text) == nil {
            throw ValidationError("\(IsolatedRead.timeoutVariable)='\(text)' is not a time limit: give a positive number of seconds, e.g. 120")
        }
    }
}
