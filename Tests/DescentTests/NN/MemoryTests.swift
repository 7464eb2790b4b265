import Descent
import Foundation
import XCTest

/// Training does not leak: after warm-up, the resident memory of a CNN's training loop stays
/// flat. The test runs 300 steps; DESCENT_MEMORY_STEPS sets more (the closing notes quote
/// 10,000).
final class MemoryTests: XCTestCase {
    /// Resident memory of this process, in bytes (/proc/self/statm).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testTrainingMemoryStaysFlat() throws {
        let steps = Int(ProcessInfo.processInfo.environment["DESCENT_MEMORY_STEPS"] ?? "") ?? 300
        let warmUp = 100
        Descent.manualSeed(3)
        let model = Sequential {
            Conv2d(1, 8, kernelSize: 3, padding: 1); BatchNorm2d(8); ReLU(); MaxPool2d(2)
            Conv2d(8, 16, kernelSize: 3, padding: 1); ReLU(); MaxPool2d(2)
            Flatten(); Dropout(p: 0.1); Linear(16 * 7 * 7, 10)
        }
        let optimizer = Adam(model.parameters(), lr: 1e-3)
        let x = Tensor.randn([256, 1, 28, 28]), y = Tensor.randint([256], high: 10)
        let loader = DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 32, shuffle: true)
        var step = 0, afterWarmUp = 0, samples: [(Int, Int)] = []
        while step < steps {
            for batch in loader where step < steps {
                let loss = crossEntropy(model(batch.inputs), batch.targets)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
                step += 1
                if step == warmUp { afterWarmUp = Self.residentBytes() }
                if step % max(steps / 10, 1) == 0 { samples.append((step, Self.residentBytes())) }
            }
        }
        let end = Self.residentBytes(), growth = end - afterWarmUp
        print("memory: \(samples.map { "step \($0.0): \($0.1 >> 20) MB" }.joined(separator: ", ")); growth after warm-up \(growth >> 10) KB")
        // A leak of one step's graph (hundreds of KB) would pass 8 MB within a few dozen steps.
        XCTAssertLessThan(growth, 8 << 20, "resident memory grew \(growth >> 10) KB over \(steps - warmUp) steps")
    }
}
