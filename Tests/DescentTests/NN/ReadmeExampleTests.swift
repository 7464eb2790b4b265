import Descent
import Foundation
import XCTest

/// The code shown in README.md, run as written (so the README cannot drift from the API).
final class ReadmeExampleTests: XCTestCase {
    func testCNNExample() throws {
        Descent.manualSeed(0)
        let model = Sequential {
            Conv2d(1, 16, kernelSize: 3, padding: 1)
            BatchNorm2d(16)
            ReLU()
            MaxPool2d(2)
            Flatten()
            Linear(16 * 14 * 14, 10)
        }
        let optimizer = Adam(model.parameters(), lr: 1e-3)
        let images = Tensor.randn([64, 1, 28, 28]), labels = Tensor.randint([64], high: 10)
        model.train()
        var first = 0.0
        for step in 0..<5 {
            let loss = crossEntropy(model(images), labels)
            if step == 0 { first = loss.itemDouble }
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        XCTAssertLessThan(crossEntropy(model(images), labels).itemDouble, first, "the loss falls")
        model.eval()
        XCTAssertTrue(model.description.hasPrefix("Sequential(\n  (0): Conv2d(1, 16, kernel_size=(3, 3)"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("readme-cnn-\(UUID()).safetensors").path
        try model.stateDict().save(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try StateDict.load(from: path).keys, model.stateDict().keys)
    }

    func testLSTMExample() {
        let lstm = LSTM(64, 128, numLayers: 2, batchFirst: true, bidirectional: true)
        let (output, (h, c)) = lstm(Tensor.randn([32, 50, 64]), lengths: Array(repeating: 50, count: 32))
        XCTAssertEqual(output.shape, [32, 50, 256])
        XCTAssertEqual(h.shape, [4, 32, 128])
        XCTAssertEqual(c.shape, [4, 32, 128])
    }
}
