import Foundation
import Testing
@testable import LSTMFormat

/// `BLASKernels`: OpenBLAS must not run its generic SSE3 ("Prescott") kernels on a CPU with AVX2 or AVX-512 just
/// because it does not know the CPU's model number.
@Suite struct BLASKernelTests {
    static var applies: Bool {
        ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil && BLASKernels.coreForCPU != nil
    }

    @Test(.enabled(if: applies, "the CPU has neither AVX2 nor AVX-512, or OPENBLAS_CORETYPE is set"))
    func kernelsFitTheCPUAfterTheFirstProduct() throws {
        let model = try FormatRegistry.read(FixturePaths.fixture("reference/stacked_mixed/model.h5")).model
        let x = ProbeData.inputs(for: model.architecture)
        _ = try LSTMNumerics.forward(model, inputs: x, precision: .float32)
        #expect(BLASKernels.current != "Prescott", "the verifier's first product must have re-selected the kernels")
    }
}
