import Descent
import Foundation
import XCTest

/// Programming errors (wrong shapes, dims, a second backward) stop the process with a message
/// that names the op, the shapes and what was expected. Each scenario runs in a child copy of
/// this test binary (a stop cannot be caught in-process); the parent checks the child died with
/// that message on standard error.
/// A module that keeps layers in a plain array (PyTorch's classic mistake with a Python list).
final class Stack: Module {
    let layers = [Linear(2, 2), Linear(2, 2)]
}

final class ErrorMessageTests: XCTestCase {
    static let scenarios: [String: (expected: String, run: () -> Void)] = [
        "matmul": ("[matmul] cannot multiply (3, 4) by (5, 6): inner sizes 4 and 5 differ",
                   { _ = Tensor.zeros([3, 4]).matmul(Tensor.zeros([5, 6])) }),
        "broadcast": ("[add] shapes (2, 3) and (4,) cannot be broadcast",
                      { _ = Tensor.zeros([2, 3]) + Tensor.zeros([4]) }),
        "conv2d": ("[Conv2d] expected input of shape (N, 1, H, W) or (1, H, W), got (3, 28, 28)",
                   { _ = Conv2d(1, 4, kernelSize: 3)(Tensor.zeros([3, 28, 28])) }),
        "conv2dFunctional": ("[conv2d] expected input of shape (N, C, H, W), got (3, 28, 28)",
                             { _ = conv2d(Tensor.zeros([3, 28, 28]), Tensor.zeros([4, 1, 3, 3])) }),
        "conv2dBiasType": ("[conv2d] bias float64 must have the input's type float32",
                           { _ = conv2d(Tensor.zeros([1, 1, 4, 4]), Tensor.zeros([2, 1, 3, 3]), bias: Tensor.zeros([2], dtype: .float64)) }),
        "convTranspose2dBiasType": ("[convTranspose2d] bias float64 must have the input's type float32",
                                    { _ = convTranspose2d(Tensor.zeros([1, 2, 4, 4]), Tensor.zeros([2, 1, 3, 3]),
                                                          bias: Tensor.zeros([1], dtype: .float64)) }),
        "linear": ("[Linear] expected input with last dimension 4, got shape (2, 3)",
                   { _ = Linear(4, 2)(Tensor.zeros([2, 3])) }),
        "linearDtype": ("[Linear] expected input of dtype float32 (the layer's), got float64",
                        { _ = Linear(4, 2)(Tensor.zeros([2, 4], dtype: .float64)) }),
        "conv2dDtype": ("[Conv2d] expected input of dtype float32 (the layer's), got float64",
                        { _ = Conv2d(1, 2, kernelSize: 3)(Tensor.zeros([1, 1, 5, 5], dtype: .float64)) }),
        "unregisteredModules": ("[Stack] property 'layers' holds 2 modules that are not registered: keep them in a ModuleList",
                                { _ = Stack().parameters() }),
        "secondBackward": ("[backward] trying to backward through the graph a second time",
                           { let x = Tensor.ones([2]).requiringGrad(); let y = (x * x).sum(); y.backward(); y.backward() }),
        "batchNormOneValue": ("[batchNorm] expected more than 1 value per channel when training, got input size (1, 3)",
                              { _ = BatchNorm1d(3)(Tensor.ones([1, 3])) }),
        "gather": ("[gather] index 5 is out of bounds for dim 1 with size 3",
                   { _ = Tensor.zeros([2, 3]).gather(dim: 1, index: Tensor(shape: [2, 1], scalars: [0, 5] as [Int64])) }),
        "reshape": ("[reshape] shape (5,) is invalid for input of size 6",
                    { _ = Tensor.zeros([2, 3]).reshape([5]) }),
        "dim": ("[sum] dim 3 out of range for a tensor of rank 2",
                { _ = Tensor.zeros([2, 3]).sum(dim: 3) }),
        "lstmState": ("[LSTM] expected h0 of shape (1, 2, 4), got (1, 3, 4)",
                      { _ = LSTM(3, 4)(Tensor.zeros([5, 2, 3]), (Tensor.zeros([1, 3, 4]), Tensor.zeros([1, 3, 4]))) }),
        "crossEntropy": ("[crossEntropy] expected input (N, C, d…) and target (N, d…)",
                           { _ = crossEntropy(Tensor.zeros([4, 3]), Tensor.zeros([5], dtype: .int64)) }),
    ]

    func testProgrammingErrorsStopWithClearMessages() throws {
        if let name = ProcessInfo.processInfo.environment["DESCENT_ERROR_SCENARIO"] {
            // Child: run the scenario; it must stop the process before returning.
            Self.scenarios[name]!.run()
            print("DESCENT_SCENARIO_RETURNED")
            exit(0)
        }
        let binary = CommandLine.arguments[0]
        for (name, scenario) in Self.scenarios.sorted(by: { $0.key < $1.key }) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["DescentTests.ErrorMessageTests/testProgrammingErrorsStopWithClearMessages"]
            var env = ProcessInfo.processInfo.environment
            env["DESCENT_ERROR_SCENARIO"] = name
            p.environment = env
            let err = Pipe(), out = Pipe()
            p.standardError = err
            p.standardOutput = out
            try p.run()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let stderr = String(decoding: errData, as: UTF8.self), stdout = String(decoding: outData, as: UTF8.self)
            XCTAssertFalse(stdout.contains("DESCENT_SCENARIO_RETURNED"), "\(name): the error did not stop the process")
            XCTAssertNotEqual(p.terminationStatus, 0, "\(name): expected a non-zero exit")
            XCTAssertTrue(stderr.contains(scenario.expected) || stdout.contains(scenario.expected),
                          "\(name): expected the message '\(scenario.expected)', got: \(stderr.suffix(400))")
        }
    }
}
