import Foundation
import XCTest

/// A training run killed (SIGKILL) at random moments, 20 times, some of them in the middle of a
/// checkpoint write: the latest checkpoint always loads, and resuming after every kill reaches
/// the same final weights, bit for bit, as the run that was never interrupted.
final class CrashSafetyTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("descent-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A small seeded generator for the kill times (SplitMix64), so a failure can be replayed.
    private struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Temporary files of unfinished writes in `folder`.
    private func temporaries(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.contains(".tmp-") }
    }

    func testKilledTrainingAlwaysLeavesALoadableCheckpointAndResumesExactly() throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("descent")
        let recipe = ["--model", "mlp", "--epochs", "60", "--optimizer", "sgd", "--schedule", "cosine", "--threads", "1", "--seed", "11"]
        let reference = dir.appendingPathComponent("reference").path, crashed = dir.appendingPathComponent("crashed").path
        let started = Date()
        let whole = try runDescent(["train", "--output", reference] + recipe)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        // Kills land 0.15 to 0.7 s after a run's first line, or up to three epochs in a slower
        // build (a sanitizer's), so that some land inside checkpoint writes there too.
        let latest = max(700_000, UInt32(3 * Date().timeIntervalSince(started) / 60 * 1e6))

        var generator = SplitMix(state: 2026)
        var kills = 0, midWrite = 0, runs = 0
        while kills < 20 && runs < 60 {
            runs += 1
            let resume = FileManager.default.fileExists(atPath: crashed + "/last.safetensors")
            let process = Process()
            process.executableURL = binary
            process.arguments = ["train", "--output", crashed] + recipe + (resume ? ["--resume"] : [])
            // Each checkpoint write pauses half-way for 150 ms, so that some kills land inside one.
            process.environment = ProcessInfo.processInfo.environment.merging(["DESCENT_FAULT_SAVE_PAUSE_MS": "150"]) { $1 }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The random moment counts from the run's first line (the data is loaded), so that
            // a slower build (a sanitizer's) still gets kills during training and its writes.
            var first = Data()
            while !first.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                first.append(chunk)
            }
            usleep(UInt32.random(in: 150_000...latest, using: &generator))
            guard process.isRunning else {
                process.waitUntilExit()
                XCTAssertEqual(process.terminationStatus, 0, "a run between kills failed")
                break
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal)
            kills += 1
            if !temporaries(crashed).isEmpty { midWrite += 1 }
            if FileManager.default.fileExists(atPath: crashed + "/last.safetensors") {
                let inspect = try runDescent(["inspect", crashed + "/last.safetensors"])
                XCTAssertEqual(inspect.status, 0, "after kill \(kills): \(inspect.stderr)")
                XCTAssertTrue(inspect.stdout.contains("a Descent checkpoint: epoch "), inspect.stdout)
            }
        }
        XCTAssertEqual(kills, 20, "the run finished before 20 kills (\(runs) runs)")
        XCTAssertGreaterThan(midWrite, 0, "no kill landed inside a checkpoint write")
        let resume = FileManager.default.fileExists(atPath: crashed + "/last.safetensors")
        let finish = try runDescent(["train", "--output", crashed] + recipe + (resume ? ["--resume"] : []))
        XCTAssertEqual(finish.status, 0, finish.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: reference + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: crashed + "/model.safetensors")),
                       "the weights after \(kills) kills and resumes differ from the uninterrupted run's")
        XCTAssertEqual(temporaries(crashed), [], "temporary files of killed writes were left behind")
        print("crash test: \(kills) kills, \(midWrite) inside a checkpoint write, \(runs + 1) runs")
    }
}
