import Foundation
import XCTest

/// Distributed training over Open MPI, started as users start it:
/// `mpirun --allow-run-as-root --oversubscribe -np N descent …`. `.ci/run` installs Open MPI
/// and sets DESCENT_EXPECT_MPI=1, which makes a missing mpirun a failure instead of a skip.
final class DistributedTrainingTests: XCTestCase {
    private var dir: URL!
    private var mpirun: String!

    override func setUpWithError() throws {
        let found = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let found else {
            if ProcessInfo.processInfo.environment["DESCENT_EXPECT_MPI"] == "1" {
                XCTFail("DESCENT_EXPECT_MPI=1 but no mpirun: install openmpi-bin")
            }
            throw XCTSkip("no mpirun (apt-get install openmpi-bin libopenmpi-dev)")
        }
        mpirun = found
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("descent-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// `descent arguments` on `ranks` processes (no launcher when nil).
    private func run(_ ranks: Int?, _ arguments: [String], environment: [String: String] = [:],
                     file: StaticString = #filePath, line: UInt = #line) throws -> CommandRun {
        let launcher = ranks.map { [mpirun!, "--allow-run-as-root", "--oversubscribe", "-np", "\($0)"] + environment.keys.sorted().flatMap { ["-x", $0] } } ?? []
        return try runDescent(arguments, launcher: launcher, environment: environment, file: file, line: line)
    }

    /// The largest difference between two files' tensors (which must have the same names).
    private func largestDifference(_ a: String, _ b: String) throws -> Double {
        let x = try readSafeTensors(a), y = try readSafeTensors(b)
        XCTAssertEqual(Set(x.keys), Set(y.keys))
        return x.keys.map { k in zip(x[k]!, y[k]!).map { abs($0 - $1) }.max() ?? 0 }.max() ?? .infinity
    }

    func testCollectives() throws {
        let r = try run(3, ["dist-check", "collectives"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Ranks 0, 1, 2 contribute (r + 1, 10r), (r + 1, 2r) and (r, −r).
        for line in ["world: 3", "sum: [6.0, 30.0]", "mean: [2.0, 2.0]", "max: [2.0, -0.0]", "broadcast: [2.0, 2.0]",
                     "gather: [0.0, 0.0, 1.0, 1.0, 2.0, 4.0]", "gather-bytes: [1, 2, 3]", "broadcast-bytes: from rank 0", "ranks agree: true"] {
            XCTAssertTrue(r.stdout.contains(line + "\n"), "expected \(line) in\n\(r.stdout)")
        }
    }

    /// Two ranks with global batches of 16 end with the weights of one process on the same
    /// global batches (float32 summation tolerance), with and without gradient accumulation
    /// (noSync); with BatchNorm made SyncBatchNorm, the same, running statistics included.
    func testTwoRanksTrainAsOneProcess() throws {
        for model in ["mlp", "bn"] {
            let one = path("one-\(model).safetensors"), two = path("two-\(model).safetensors")
            let alone = try run(nil, ["dist-check", "train", "--model", model, "--output", one])
            XCTAssertEqual(alone.status, 0, alone.stderr)
            let pair = try run(2, ["dist-check", "train", "--model", model, "--output", two])
            XCTAssertEqual(pair.status, 0, pair.stderr)
            XCTAssertTrue(pair.stdout.contains("buckets: 2\n"), pair.stdout)
            XCTAssertTrue(pair.stdout.contains("ranks identical: true\n"), pair.stdout)
            XCTAssertLessThan(try largestDifference(one, two), 1e-6, model)
            if model == "mlp" {
                let accumulated = path("two-accumulated.safetensors")
                let run2 = try run(2, ["dist-check", "train", "--model", model, "--accumulate", "2", "--output", accumulated])
                XCTAssertEqual(run2.status, 0, run2.stderr)
                XCTAssertLessThan(try largestDifference(one, accumulated), 1e-6, "noSync accumulation")
            }
        }
    }

    func testSamplerCoversEverySampleOncePerEpoch() throws {
        let r = try run(2, ["dist-check", "sampler"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for epoch in 0..<3 {
            XCTAssertTrue(r.stdout.contains("epoch \(epoch): per rank 5, times seen [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"), r.stdout)
        }
        // 10 samples over 3 ranks: 4 each, the order padded with 2 repeats, a new order each epoch.
        let three = try run(3, ["dist-check", "sampler"])
        XCTAssertEqual(three.status, 0, three.stderr)
        let lines = three.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch") }
        XCTAssertEqual(lines.count, 3)
        var orders = Set<String>()
        for line in lines {
            let counts = line.split(separator: "[")[1].dropLast().split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            XCTAssertEqual(counts.count, 10)
            XCTAssertTrue(line.contains("per rank 4"), String(line))
            XCTAssertEqual(counts.reduce(0, +), 12)
            XCTAssertTrue(counts.allSatisfy { $0 == 1 || $0 == 2 }, String(line))
            orders.insert(String(line.split(separator: ":")[1]))
        }
        XCTAssertGreaterThan(orders.count, 1)
    }

    /// `descent train` under mpirun: rank 0 alone prints and writes; the ranks agree; a run
    /// resumes with another number of processes, both ways.
    func testTrainUnderMpirunAndResumeWithOtherRankCounts() throws {
        let out = path("run")
        let common = ["train", "--model", "cnn-bn", "--epochs", "3", "--output", out]
        let first = try run(nil, common + ["--stop-after", "1"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try run(2, common + ["--resume", "--stop-after", "2", "--sync-batch-norm"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("2 ranks × 1 thread"), second.stdout)
        XCTAssertEqual(second.stdout.components(separatedBy: "epoch 2/3:").count - 1, 1, "one progress line per epoch:\n\(second.stdout)")
        let third = try run(2, common + ["--resume"])
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertTrue(third.stdout.contains("parameters and buffers identical on all 2 ranks"), third.stdout)
        XCTAssertEqual(third.stdout.components(separatedBy: "test accuracy").count - 1, 1, third.stdout)
        XCTAssertGreaterThan(numbersAfter("test accuracy ", in: third.stdout).last ?? 0, 85)
        let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").count, 3)
        let fourth = try run(nil, common + ["--epochs", "4", "--resume"])
        XCTAssertEqual(fourth.status, 0, fourth.stderr)
        XCTAssertTrue(fourth.stdout.contains("resuming after epoch 3"), fourth.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
    }

    /// A rank that is killed, fails, or hangs makes the job stop with a non-zero exit and a
    /// message naming the rank, within the timeout.
    func testFaultsStopTheJob() throws {
        let started = Date()
        let killed = try run(2, ["train", "--model", "mlp", "--epochs", "2", "--output", path("killed")],
                             environment: ["DESCENT_FAULT_KILL": "1:5"])
        XCTAssertNotEqual(killed.status, 0)
        XCTAssertTrue(killed.stderr.contains("rank 1"), killed.stderr)
        XCTAssertFalse(killed.stdout.contains("test accuracy"), killed.stdout)

        let failed = try run(2, ["dist-check", "raise"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.stderr.contains("Descent: rank 1 of 2: Error: data file 'shard-1.csv': no such file"), failed.stderr)

        let hangStart = Date()
        let hung = try run(2, ["dist-check", "hang", "--timeout", "3"])
        XCTAssertNotEqual(hung.status, 0)
        XCTAssertTrue(hung.stderr.contains("Descent: rank 0 of 2: the all-reduce of 1 float32 values did not complete within 3 s"), hung.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(hangStart), 60, "the timeout stopped the job")
        XCTAssertLessThan(Date().timeIntervalSince(started), 120)

        let mismatch = try run(2, ["dist-check", "mismatch"])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.stdout.contains("the model on rank 1 differs from rank 0's: entry 1 is parameter '0.weight' of shape (5, 3), float32 on rank 1 but parameter '0.weight' of shape (4, 3), float32 on rank 0"),
                      mismatch.stdout)
        XCTAssertFalse(mismatch.stdout.contains("wrapped"))
    }

    /// Without MPI, asking for it says what to install; a global batch that does not split
    /// over the ranks is refused before training.
    func testClearErrors() throws {
        let noMPI = try runDescent(["train", "--epochs", "1", "--output", path("none")],
                                   environment: ["OMPI_COMM_WORLD_SIZE": "2", "DESCENT_MPI_LIBRARY": "/no/such/libmpi.so"])
        XCTAssertNotEqual(noMPI.status, 0)
        XCTAssertTrue(noMPI.stderr.contains("distributed training needs an MPI library, and cannot load /no/such/libmpi.so"), noMPI.stderr)
        XCTAssertTrue(noMPI.stderr.contains("apt-get install openmpi-bin libopenmpi-dev"), noMPI.stderr)
        XCTAssertEqual(noMPI.stderr.split(separator: "\n").count, 1, noMPI.stderr)
        let odd = try run(3, ["train", "--epochs", "1", "--output", path("odd")])
        XCTAssertNotEqual(odd.status, 0)
        XCTAssertTrue(odd.stderr.contains("--batch-size 64 does not split over 3 ranks; give a multiple of 3"), odd.stderr)
    }
}
