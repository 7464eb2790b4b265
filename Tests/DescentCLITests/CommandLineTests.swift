import Foundation
import XCTest

/// The `descent` tool as a user runs it: the built executable in a child process, its exit
/// status, standard output and standard error.
final class CommandLineTests: XCTestCase {
    typealias Run = CommandRun

    /// Runs the `descent` executable that `swift build` put beside the test bundle (or `binary`).
    func descent(_ arguments: [String], binary: URL = Bundle.main.bundleURL.appendingPathComponent("descent"),
                 file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        try runDescent(arguments, binary: binary, file: file, line: line)
    }

    func testHelpListsTheSubcommands() throws {
        let run = try descent(["--help"])
        XCTAssertEqual(run.status, 0, run.stderr)
        for name in ["train", "evaluate", "predict", "inspect", "sequence", "bench", "info"] {
            XCTAssertTrue(run.stdout.contains(name), "descent --help does not mention \(name):\n\(run.stdout)")
        }
        XCTAssertFalse(run.stdout.contains("check-message"), "the test-only subcommand is listed")
        let version = try descent(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertNotNil(version.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression), version.stdout)
    }

    /// `info` takes --threads, names no OpenBLAS core type when no BLAS is loaded, and names the
    /// bfloat16 products' instructions: those this CPU has, none with DESCENT_BF16_DOT=0, and
    /// AVX512-BF16 alone with DESCENT_AMX=0.
    func testInfo() throws {
        let run = try descent(["info", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("threads: 1"), run.stdout)
        if run.stdout.contains("blas: none") { XCTAssertFalse(run.stdout.contains("OPENBLAS_CORETYPE"), run.stdout) }
        func backend(_ output: String) -> String? {
            output.split(separator: "\n").first { $0.hasPrefix("bfloat16 products (autocast): ") }.map { String($0.split(separator: " ").last!) }
        }
        // The CPU's flags as Linux reports them: AVX512-BF16 means not emulated, no AMX-BF16 means not AMX.
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let chosen = backend(run.stdout)
        XCTAssertTrue(["amx", "avx512-bf16", "emulated"].contains(chosen ?? ""), run.stdout)
        if flags.contains("avx512_bf16") { XCTAssertNotEqual(chosen, "emulated", run.stdout) }
        if !flags.contains("amx_bf16") { XCTAssertNotEqual(chosen, "amx", run.stdout) }
        XCTAssertEqual(backend(try runDescent(["info"], environment: ["DESCENT_BF16_DOT": "0"]).stdout), "emulated")
        XCTAssertEqual(backend(try runDescent(["info"], environment: ["DESCENT_AMX": "0"]).stdout), chosen == "emulated" ? "emulated" : "avx512-bf16")
    }

    /// A bad flag or value ends with a message on standard error and a non-zero exit, never a
    /// crash (a trap would end with a signal and print a stack trace).
    func testBadFlagsGiveAMessageAndANonZeroExit() throws {
        let cases: [([String], String)] = [
            (["train", "--epochs", "0"], "--epochs must be at least 1, got 0"),
            (["train", "--epochs", "abc"], "The value 'abc' is invalid for '--epochs <epochs>'"),
            (["train", "--lr=-1"], "--lr must be a positive number, got -1.0"),
            (["train", "--model", "resnet"], "The value 'resnet' is invalid for '--model <model>'"),
            (["train", "--optimizer", "lbfgs"], "The value 'lbfgs' is invalid for '--optimizer <optimizer>'"),
            (["train", "--val-split", "1.5"], "--val-split must be in [0, 1), got 1.5"),
            (["train", "--idx", "a", "--csv", "b"], "give --idx or --csv, not both"),
            (["train", "--idx", "/no/such/folder"], "data file '/no/such/folder': no such folder"),
            (["train", "--csv", "/no/such.csv"], "data file '/no/such.csv': no such file"),
            (["train", "--label-column", "middle", "--csv", "x.csv"], "The value 'middle' is invalid for '--label-column <label-column>'"),
            (["train", "--height", "4"], "--height and --width apply to --csv files"),
            (["train", "--output", "/proc/descent-nope"], "--output: cannot create the folder /proc/descent-nope"),
            (["inspect", "/no/such.safetensors"], "safetensors file '/no/such.safetensors': cannot be read"),
            (["evaluate", "/no/such.safetensors"], "safetensors file '/no/such.safetensors': cannot be read"),
            (["predict", "/no/such.safetensors"], "Missing expected argument '<images> ...'"),
            (["train", "--nope"], "Unknown option '--nope'"),
            (["train", "--threads", "0"], "--threads must be at least 1, got 0"),
            (["train", "--threads", "-1"], "--threads must be at least 1, got -1"),
            (["info", "--threads", "0"], "--threads must be at least 1, got 0"),
            (["sequence", "--cell", "cnn"], "Please provide one of 'rnn', 'lstm' or 'gru'"),
            (["sequence", "--length", "1"], "--length must be at least 2, got 1"),
            (["bench", "gemm", "--shapes", "8x8"], "--shapes: '8x8' is not MxNxK with three positive sizes"),
            (["bench", "gemm", "--forms", "nn,xx"], "unknown form(s) xx; use nn, nt or tn"),
            (["bench", "workloads", "--reps", "0"], "--reps must be at least 1, got 0"),
            (["bench", "workloads", "--exact"], "--exact needs --filter with a workload's name"),
            (["bench", "workloads", "--filter", "mlp", "--exact"], "no workload is named 'mlp'; the workloads: mlp_train_b64,"),
            (["bench", "workloads", "--filter", "nope"], "no workload contains 'nope'"),
            (["bench", "distributed", "--reps", "0"], "--reps must be at least 1, got 0"),
            (["train", "--sync-batch-norm=yes"], "The option '--sync-batch-norm' does not take any value"),
            (["lab"], "Missing expected argument '<experiments> ...'"),
            (["lab", "backprop", "gravity"], "unknown experiment 'gravity'"),
            (["nonsense"], "Unexpected argument 'nonsense'"),
        ]
        for (arguments, message) in cases {
            let run = try descent(arguments)
            let command = "descent " + arguments.joined(separator: " ")
            XCTAssertNotEqual(run.status, 0, "\(command) succeeded")
            XCTAssertTrue(run.stderr.contains(message), "\(command): expected \"\(message)\" in\n\(run.stderr)")
            XCTAssertFalse(run.stderr.contains("Fatal error") || run.stderr.contains("Stack dump"), "\(command) crashed:\n\(run.stderr)")
            if arguments.contains("--threads") {
                XCTAssertTrue(run.stderr.contains("Usage: descent \(arguments[0])"), "\(command): expected the subcommand's usage in\n\(run.stderr)")
            }
        }
    }

    /// An LSTM, a GRU and a plain RNN learn to recall a symbol over 5 blank steps.
    func testSequenceRecallIsLearned() throws {
        for cell in ["lstm", "gru", "rnn"] {
            let run = try descent(["sequence", "--cell", cell, "--length", "6", "--steps", "200"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let accuracies = numbers(after: "test accuracy ", in: run.stdout)
            XCTAssertGreaterThanOrEqual(accuracies.last ?? 0, 90, "\(cell):\n\(run.stdout)")
        }
    }

    /// `bench gemm --json` prints one JSON object with a positive GFLOP/s for each shape and form.
    func testBenchGemmPrintsJSON() throws {
        let run = try descent(["bench", "gemm", "--shapes", "8x16x4,3x5x7", "--forms", "nn,tn", "--reps", "2", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Double]
        let keys = ["gemm_8x16x4_nn", "gemm_8x16x4_tn", "gemm_3x5x7_nn", "gemm_3x5x7_tn"]
        for key in keys + keys.map({ "best_" + $0 }) {
            XCTAssertGreaterThan(object?[key] ?? 0, 0, "\(key) missing in \(run.stdout)")
        }
        XCTAssertEqual(object?.count, 8, run.stdout)
    }

    func numbers(after label: String, in text: String) -> [Double] { numbersAfter(label, in: text) }

    /// A release (-O) build keeps the text of the library's checks: `descent check-message`
    /// feeds a (8, 784) input to Linear(1568, 10). The release binary is the one README's
    /// first command (and .ci/run) builds; without it, it is built here in a scratch folder.
    func testReleaseBuildPrintsCheckMessages() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var binary = root.appendingPathComponent(".build/release/descent")
        if !FileManager.default.isExecutableFile(atPath: binary.path) {
            let scratch = root.appendingPathComponent(".build-release-check")
            let build = Process()
            build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            build.arguments = ["swift", "build", "-c", "release", "--product", "descent", "--scratch-path", scratch.path]
            build.currentDirectoryURL = root
            try build.run()
            build.waitUntilExit()
            XCTAssertEqual(build.terminationStatus, 0, "swift build -c release failed")
            binary = scratch.appendingPathComponent("release/descent")
        }
        let run = try descent(["check-message"], binary: binary)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("[Linear] expected input with last dimension 1568, got shape (8, 784)"),
                      "release build's message: \(run.stderr.prefix(400))")
    }
}
