import Descent
import Foundation
import XCTest

final class CheckpointTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("descent-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testRoundTripOfEveryPart() throws {
        Descent.manualSeed(4)
        let model = Sequential { Linear(3, 4); ReLU(); Linear(4, 2) }
        let optimizer = Adam(model.parameters(), lr: 0.01)
        let schedule = StepLR(optimizer, stepSize: 2)
        for _ in 0..<3 {
            optimizer.zeroGrad()
            model(Tensor.randn([5, 3])).sum().backward()
            optimizer.step()
            schedule.step()
        }
        var g = Generator(seed: 9)
        _ = g.nextNormal()  // leaves a spare normal in the state
        let path = dir.appendingPathComponent("run.safetensors").path
        try Checkpoint(model: model.stateDict(), optimizer: optimizer.stateDict(), scheduler: schedule.stateDict(), epoch: 3, step: 42,
                       generators: ["loader": g], metadata: ["model": "mlp"]).save(to: path)
        let back = try Checkpoint.load(from: path)
        XCTAssertEqual(back.epoch, 3)
        XCTAssertEqual(back.step, 42)
        XCTAssertEqual(back.metadata, ["model": "mlp"])
        XCTAssertEqual(back.model.keys, model.stateDict().keys)
        XCTAssertEqual(Set(back.optimizer.keys), Set(optimizer.stateDict().keys))
        XCTAssertEqual(back.scheduler.keys, schedule.stateDict().keys)
        var restored = back.generators["loader"]!
        XCTAssertEqual(restored.nextNormal(), g.nextNormal(), "the spare normal survives")
        XCTAssertEqual(restored.next(), g.next())
        let copy = Sequential { Linear(3, 4); ReLU(); Linear(4, 2) }
        try copy.loadStateDict(back.model)
        XCTAssertEqual(copy.stateDict()["2.weight"]!.scalars, model.stateDict()["2.weight"]!.scalars)
        // Saving again replaces the file whole; no temporary file is left behind.
        try Checkpoint(model: model.stateDict(), epoch: 4, step: 50).save(to: path)
        XCTAssertEqual(try Checkpoint.load(from: path).epoch, 4)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["run.safetensors"])
    }

    func testFilesThatAreNotCheckpoints() throws {
        let stateOnly = dir.appendingPathComponent("model.safetensors").path
        try Linear(2, 2).stateDict().save(to: stateOnly)
        XCTAssertThrowsError(try Checkpoint.load(from: stateOnly)) { error in
            XCTAssertTrue("\(error)".contains("model.safetensors': is not a Descent checkpoint"), "\(error)")
        }
        XCTAssertThrowsError(try Checkpoint.load(from: dir.appendingPathComponent("none").path)) { error in
            XCTAssertTrue(error is SafeTensorsError, "\(error)")
        }
        let noModel = dir.appendingPathComponent("empty.safetensors").path
        try Checkpoint(model: StateDict()).save(to: noModel)
        XCTAssertThrowsError(try Checkpoint.load(from: noModel)) { error in
            XCTAssertTrue("\(error)".contains("holds no model state"), "\(error)")
        }
        XCTAssertNil(Generator(state: [0, 0, 0, 0, 0, 0]))
        XCTAssertNil(Generator(state: [1, 2, 3]))
    }

    /// A write into a folder that does not exist fails with the file's name and leaves nothing.
    func testFailedSaveNamesTheFile() {
        let path = dir.appendingPathComponent("missing/run.safetensors").path
        XCTAssertThrowsError(try Checkpoint(model: Linear(1, 1).stateDict()).save(to: path)) { error in
            XCTAssertTrue("\(error)".contains("missing/run.safetensors"), "\(error)")
        }
    }
}
