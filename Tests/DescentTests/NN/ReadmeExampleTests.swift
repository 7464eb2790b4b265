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

    func testTensorsFromSwiftValues() {
        let floats: [Float] = [1, 2, 3, 4, 5, 6]
        let x = Tensor([[1.0, 2.0], [3.0, 4.0]])
        let labels = Tensor([0, 2, 1])
        let d = Tensor([0.1, 0.2], dtype: .float64)
        let raw = Tensor(shape: [2, 3], scalars: floats)
        let values: [Float] = x.scalars
        let counts: [Int64] = labels.toArray(Int64.self)
        let total = x.sum().item
        XCTAssertEqual(x.dtype, .float32)
        XCTAssertEqual(x.shape, [2, 2])
        XCTAssertEqual(labels.dtype, .int64)
        XCTAssertEqual(d.dtype, .float64)
        XCTAssertEqual(raw.shape, [2, 3])
        XCTAssertEqual(values, [1, 2, 3, 4])
        XCTAssertEqual(counts, [0, 2, 1])
        XCTAssertEqual(total, 10)
    }

    final class TwoLayer: Module {
        let fc1 = Linear(784, 128), fc2 = Linear(128, 10)
        let scale = Tensor.ones([10]).requiringGrad()          // a parameter named "scale"
        override func forward(_ x: Tensor) -> Tensor { fc2(fc1(x).relu()) * scale }
    }

    func testCustomModuleAndLoading() throws {
        let net = TwoLayer()
        XCTAssertEqual(net.stateDict().keys, ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = dir.appendingPathComponent("two_layer.safetensors").path, partial = dir.appendingPathComponent("partial.safetensors").path
        try net.stateDict().save(to: full)
        var part = net.stateDict()
        part.entries.removeFirst()
        try part.save(to: partial)
        try net.loadStateDict(StateDict.load(from: full))
        let skipped = try net.loadStateDict(StateDict.load(from: partial), strict: false)
        XCTAssertEqual(skipped.missing, ["scale"])
        XCTAssertEqual(skipped.unexpected, [])
        XCTAssertEqual(try SafeTensors.load(from: full).tensors.count, 5)
    }

    /// README's training loop ("The same loop written with the library"), with 2 epochs
    /// instead of 20 to keep the suite short.
    func testTrainingLoopExample() throws {
        let epochs = 2
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readme-loop-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        Descent.manualSeed(0)
        let digits = try Digits.load()
        let model = Sequential {
            Conv2d(1, 16, kernelSize: 3, padding: 1); BatchNorm2d(16); ReLU(); MaxPool2d(2)
            Conv2d(16, 32, kernelSize: 3, padding: 1); BatchNorm2d(32); ReLU(); MaxPool2d(2)
            Flatten(); Linear(32 * 2 * 2, 10)
        }
        let optimizer = Adam(model.parameters(), lr: 1e-3)
        let schedule = CosineAnnealingLR(optimizer, tMax: epochs)
        let loader = DataLoader(digits.train, batchSize: 64, shuffle: true)
        for epoch in 1...epochs {
            model.train()
            for batch in loader {
                let loss = crossEntropy(model(batch.inputs), batch.targets)
                optimizer.zeroGrad()
                loss.backward()
                try clipGradNorm(optimizer.parameters, maxNorm: 5)
                optimizer.step()
            }
            schedule.step()
            try Checkpoint(model: model.stateDict(), optimizer: optimizer.stateDict(), scheduler: schedule.stateDict(),
                           epoch: epoch, generators: ["loader": loader.generator]).save(to: dir.appendingPathComponent("last.safetensors").path)
        }
        model.eval()
        let accuracy = withNoGrad { model(digits.test.images).argmax(dim: 1).eq(digits.test.labels).float().mean().item }
        XCTAssertGreaterThan(accuracy, 0.8)
        XCTAssertEqual(try Checkpoint.load(from: dir.appendingPathComponent("last.safetensors").path).epoch, epochs)
    }
}
