import Foundation
import XCTest

/// Programming errors (wrong shapes, dtypes, dimensions, indices, arguments) stop the program
/// with one message that names the op, the shapes or values and what was expected. Each case of
/// `descent check-message NAME` runs in a child process, where the check traps.
final class ProgrammingErrorTests: XCTestCase {
    /// The case and the message it must stop with.
    static let expected: [(name: String, message: String)] = [
        ("arange-step", "[arange] step must be non-zero"),
        ("backward-no-grad", "[backward] the tensor does not require grad and has no grad_fn"),
        ("backward-non-scalar", "[backward] grad can be implicitly created only for one-element outputs; got shape (2,); pass a gradient"),
        ("backward-twice", "[backward] trying to backward through the graph a second time (ViewBackward): its saved tensors were freed after the first backward; pass retainGraph: true to the first call"),
        ("batchnorm-features", "[BatchNorm2d] expected input of shape (N, C, H, W) or (C, H, W) with C = 3, got (2, 4, 5, 5)"),
        ("batchnorm-one-value", "[batchNorm] expected more than 1 value per channel when training, got input size (1, 3)"),
        ("broadcast", "[add] shapes (2, 3) and (4,) cannot be broadcast: sizes 3 and 4 differ at dim 1"),
        ("cat-empty", "[cat] expected a non-empty list of tensors"),
        ("cat-shapes", "[cat] sizes of tensors must match except in dim 0: tensor 0 has shape (2, 3), tensor 1 has (2, 4)"),
        ("conv1d-groups", "[Conv1d] inChannels 3 and outChannels 4 must be divisible by groups 2"),
        ("conv2d-channels", "[Conv2d] expected input of shape (N, 3, H, W) or (3, H, W), got (1, 1, 8, 8)"),
        ("conv2d-rank", "[Conv2d] expected input of shape (N, 1, H, W) or (1, H, W), got (8, 8)"),
        ("conv2d-too-small", "[conv2d] input (1, 1, 3, 3) padded is smaller than the dilated kernel (5, 5)"),
        ("cross-entropy-target", "[crossEntropy] expected input (N, C, d…) and target (N, d…), got input (4, 3) and target (2,)"),
        ("data-loader-batch", "[DataLoader] batchSize must be at least 1, got 0"),
        ("dropout-p", "[Dropout] probability has to be between 0 and 1, but got 1.5"),
        ("embedding-dtype", "[Embedding] expected int64 indices, got float32"),
        ("expand", "[expand] the number of sizes 1 must be >= the tensor's rank 2"),
        ("item", "[item] a tensor with 2 elements cannot be converted to a scalar; shape (2,)"),
        ("linear", "[Linear] expected input with last dimension 1568, got shape (8, 784)"),
        ("linear-dtype", "[Linear] expected input of dtype float32 (the layer's), got float64"),
        ("lstm-input", "[LSTM] expected input size 4 in the last dim, got (5, 2, 3)"),
        ("matmul", "[matmul] cannot multiply (2, 3) by (4, 5): inner sizes 3 and 4 differ"),
        ("maxpool1d-rank", "[maxPool1d] expected input of shape (N, C, L), got (2,)"),
        ("mm-rank", "[mm] expected 2-D tensors, got (2, 3, 4) and (4, 2)"),
        ("mse-shapes", "[mseLoss] input (4, 3) and target (4,) must have the same shape"),
        ("narrow", "[narrow] start 2 and length 3 exceed dim 0 of size 4 (shape (4,))"),
        ("one-hot-dtype", "[oneHot] expected an int64 tensor of class indices, got float32"),
        ("one-hot-range", "[oneHot] class index 5 is out of range for 3 classes"),
        ("permute-count", "[permute] expected 2 dims for shape (2, 3), got [0]"),
        ("permute-repeat", "[permute] dims [0, 0] repeat a dimension"),
        ("randint-range", "[randint] expected low < high, got 5 and 5"),
        ("reshape", "[reshape] shape (4,) is invalid for input of size 6 (2, 3)"),
        ("select-index", "[select] index 5 is out of range for dim 0 of size 2"),
        ("sgd-lr", "[SGD] invalid learning rate: -1.0"),
        ("stack-sizes", "[stack] expects each tensor to be equal size, but got (2,) at entry 0 and (3,) at entry 1"),
        ("transpose-rank", "[t] expects a tensor with <= 2 dimensions, got shape (2, 3, 4)"),
        ("unsqueeze-dim", "[unsqueeze] dim 3 out of range for a tensor of rank 1"),
        ("view-strides", "[view] size (6,) is not compatible with the input's strides [1, 3] (shape (3, 2)); use reshape or contiguous() first"),
        ("zeros-negative", "[zeros] negative size in shape (-1,)"),
    ]

    private func stop(_ name: String) throws -> (reason: Process.TerminationReason, firstLine: String) {
        let process = Process(), err = Pipe()
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("descent")
        process.arguments = ["check-message", name]
        // The runtime's backtrace is not needed here; its first line is the message.
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationReason, String(text.split(separator: "\n").first ?? ""))
    }

    func testEachErrorStopsWithItsMessage() throws {
        XCTAssertGreaterThanOrEqual(Self.expected.count, 30)
        for (name, message) in Self.expected {
            let (reason, line) = try stop(name)
            XCTAssertEqual(reason, .uncaughtSignal, "\(name): the check should trap")
            // "Descent/File.swift:LINE: Fatal error: [op] …"
            XCTAssertTrue(line.hasPrefix("Descent/") && line.contains(".swift:"), "\(name): \(line)")
            XCTAssertTrue(line.hasSuffix("Fatal error: " + message), "\(name):\n  got      \(line)\n  expected \(message)")
            XCTAssertTrue(message.hasPrefix("["), "\(name): the message names the op first")
        }
    }
}
