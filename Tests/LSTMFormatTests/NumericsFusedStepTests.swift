import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B14: for sigmoid gates and a tanh cell, BPTT takes a fused step "with the same operations in
/// the same order as the general path". That claim is an identity: the gradients are the same bits with the
/// fused step on and off, in both precisions, on every architecture variant, masked or not (float32 on AVX-512: the
/// C gate pass of B44 against the general Swift pass).
@Suite struct NumericsFusedStepTests {
    typealias Case = RandomModels.MaskedCase

    /// The variants with sigmoid gates and a tanh cell in every layer (where the fused step applies), plain and masked.
    static let cases = Case.plainAndMasked(RandomModels.variants
        .filter { v in v.architecture.layers.allSatisfy { $0.gateActivation == .sigmoid && $0.cellActivation == .tanh && !$0.peepholes && $0.projectionSize == nil } })

    @Test func everyLayoutIsCovered() {
        #expect(Self.cases.count >= 20)
    }

    /// Seeds 14, 15, 16 (model, inputs, targets).
    @Test(arguments: cases)
    func B14_fusedSigmoidTanhStepGivesTheGeneralPathsBits(_ c: Case) throws {
        let (variant, masked) = (c.variant, c.masked)
        let arch = masked ? NumericsMaskingTests.masked(variant.architecture, kind: 1) : variant.architecture
        let model = RandomModels.make(architecture: arch, seed: 14)
        let x: ModelInput = masked ? try NumericsMaskingTests.paddedInput(arch, seed: 15)
            : .features(RandomModels.inputs(batch: 4, steps: 6, features: arch.inputSize, seed: 15))
        let t = FiniteDifferences.targets(arch, batch: 4, steps: 6, seed: 16)
        for precision in [Precision.float32, .float64] {
            let fused = try LSTMNumerics.gradients(model, input: x, targets: t, precision: precision)
            let general = try FusedBPTTStep.$enabled.withValue(false) {
                try LSTMNumerics.gradients(model, input: x, targets: t, precision: precision)
            }
            #expect(fused.loss.bitPattern == general.loss.bitPattern, "\(variant) masked \(masked) \(precision)")
            for (name, g) in general.gradients {
                let f = try #require(fused.gradients[name])
                let differing = zip(f.float64Values(), g.float64Values()).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(variant) masked \(masked) \(precision) \(name): \(differing) values differ")
            }
        }
    }
}
