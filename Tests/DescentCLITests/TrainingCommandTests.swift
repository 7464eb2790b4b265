import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// `descent train`, `evaluate`, `predict` and `inspect` run as a user runs them, on small budgets.
final class TrainingCommandTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("descent-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CommandRun {
        try runDescent(arguments, file: file, line: line)
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/data")

    /// The default recipe on the embedded digits, shortened to 3 epochs: the accuracy climbs
    /// past 85%, and the run leaves checkpoints, metrics, a plot and a confusion matrix.
    func testTrainOnTheDigits() throws {
        let out = path("digits")
        let r = try run(["train", "--epochs", "3", "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("digits: 1437 training, 360 test images of 1×8×8, 10 classes"), r.stdout)
        let accuracies = numbersAfter("test loss ", in: r.stdout)
        XCTAssertEqual(accuracies.count, 3, r.stdout)
        let final = numbersAfter("test accuracy ", in: r.stdout).last ?? 0
        XCTAssertGreaterThan(final, 85, r.stdout)
        XCTAssertTrue(r.stdout.contains("confusion matrix (rows: true class, columns: predicted)"))
        for f in ["last.safetensors", "best.safetensors", "model.safetensors", "metrics.jsonl", "training.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), "\(f) missing")
        }
        let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.count, 3)
        let last = try JSONSerialization.jsonObject(with: Data(metrics[2].utf8)) as! [String: Double]
        XCTAssertEqual(last["epoch"], 3)
        XCTAssertEqual((last["test_accuracy"] ?? 0) * 100, final, accuracy: 0.01)
        let svg = try XMLDocument(contentsOf: URL(fileURLWithPath: out + "/training.svg"))
        XCTAssertEqual(try svg.nodes(forXPath: "//*[local-name()='polyline']").count, 4, "train and test, loss and accuracy")
        // evaluate and inspect read what train wrote; predict classifies a digit-sized image.
        let e = try run(["evaluate", out + "/model.safetensors"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertEqual(numbersAfter("accuracy ", in: e.stdout).first ?? -1, final, accuracy: 0.01, e.stdout)
        let i = try run(["inspect", out + "/last.safetensors"])
        XCTAssertTrue(i.stdout.contains("a Descent checkpoint: epoch 3, step 69; model cnn-bn"), i.stdout)
        XCTAssertTrue(i.stdout.contains("model.0.weight"), i.stdout)
        let p = try run(["predict", out + "/best.safetensors", Self.fixtures.appendingPathComponent("image.png").path, "--top", "2"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("resized from 4×5 to the model's 8×8"), p.stdout)
        XCTAssertTrue(p.stdout.contains("image.png: class "), p.stdout)
    }

    /// Stopping after 2 of 4 epochs (--stop-after, as an interruption) and resuming gives the
    /// same final weights, bit for bit, as
    /// the uninterrupted run (same seed, one thread); a resume with other flags is refused and
    /// leaves the checkpoint as it was.
    func testResumeIsExact() throws {
        let a = path("a"), b = path("b")
        let common = ["--model", "cnn", "--optimizer", "sgd", "--schedule", "cosine", "--threads", "1", "--seed", "5"]
        XCTAssertEqual(try run(["train", "--epochs", "4", "--output", a] + common).status, 0)
        let stopped = try run(["train", "--epochs", "4", "--stop-after", "2", "--output", b] + common)
        XCTAssertTrue(stopped.stdout.contains("stopped after epoch 2 of 4; continue with --resume"), stopped.stdout)
        let before = try Data(contentsOf: URL(fileURLWithPath: b + "/last.safetensors"))
        let refused = try run(["train", "--epochs", "4", "--output", b, "--resume", "--lr", "0.01"] + common)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--resume: the checkpoint was trained with --lr 0.001, not 0.01"), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, "one line: \(refused.stderr)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: b + "/last.safetensors")), before, "the checkpoint was touched")
        let resumed = try run(["train", "--epochs", "4", "--output", b, "--resume"] + common)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming after epoch 2"), resumed.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: b + "/model.safetensors")), "resumed weights differ")
        XCTAssertEqual(try String(contentsOfFile: b + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").count, 4)
        let again = try run(["train", "--epochs", "4", "--output", b, "--resume"] + common)
        XCTAssertTrue(again.stderr.contains("already trained 4 epochs"), again.stderr)
        let none = try run(["train", "--output", path("empty"), "--resume"])
        XCTAssertTrue(none.stderr.contains("--resume: no checkpoint at"), none.stderr)
    }

    /// An IDX folder and a CSV file of the user's, with every other option of the recipe.
    func testTrainOnIDXAndCSVFiles() throws {
        let idx = path("mnist")
        try FileManager.default.createDirectory(atPath: idx, withIntermediateDirectories: true)
        for (from, to) in [("images.idx.gz", "train-images-idx3-ubyte.gz"), ("labels.idx", "train-labels-idx1-ubyte"),
                           ("images.idx", "t10k-images-idx3-ubyte"), ("labels.idx.gz", "t10k-labels-idx1-ubyte.gz")] {
            try FileManager.default.copyItem(atPath: Self.fixtures.appendingPathComponent(from).path, toPath: idx + "/" + to)
        }
        let r = try run(["train", "--idx", idx, "--model", "mlp", "--epochs", "2", "--batch-size", "2", "--optimizer", "rmsprop",
                         "--schedule", "onecycle", "--weight-decay", "0.01", "--clip", "1", "--val-split", "0.2", "--output", path("i")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("4 training, 1 validation, 5 test images of 1×4×3, 3 classes"), r.stdout)
        XCTAssertTrue(r.stdout.contains("validation loss"), r.stdout)
        for model in ["lstm", "gru"] {
            let c = try run(["train", "--csv", Self.fixtures.appendingPathComponent("header.csv").path, "--height", "4", "--width", "3",
                             "--model", model, "--epochs", "1", "--optimizer", "adagrad", "--schedule", "step", "--output", path("c-" + model)])
            XCTAssertEqual(c.status, 0, c.stderr)
            XCTAssertTrue(c.stdout.contains("4 training, 1 test images of 1×4×3"), c.stdout)
        }
        let small = try run(["train", "--csv", Self.fixtures.appendingPathComponent("first.csv").path, "--height", "4", "--output", path("s")])
        XCTAssertTrue(small.stderr.contains("--model cnn-bn needs images of at least 4×4 pixels, got 4×3"), small.stderr)
        let ragged = try run(["train", "--csv", Self.fixtures.appendingPathComponent("ragged.csv").path, "--height", "4", "--output", path("r")])
        XCTAssertTrue(ragged.stderr.contains("ragged.csv': line 6 has 3 fields, the rows before it 13"), ragged.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r")), "nothing written for bad data")
        let badLabels = path("badlabels")
        try FileManager.default.createDirectory(atPath: badLabels, withIntermediateDirectories: true)
        for (from, to) in [("images.idx", "train-images.idx"), ("labels_short.idx", "train-labels.idx"),
                           ("images.idx", "test-images.idx"), ("labels.idx", "test-labels.idx")] {
            try FileManager.default.copyItem(atPath: Self.fixtures.appendingPathComponent(from).path, toPath: badLabels + "/" + to)
        }
        let mismatch = try run(["train", "--idx", badLabels, "--model", "mlp", "--output", path("m")])
        XCTAssertTrue(mismatch.stderr.contains("train-labels.idx': has 4 labels for the 5 images"), mismatch.stderr)
    }

    /// A learning rate of 100 makes the MLP's logits overflow in the first epoch: without
    /// --detect-anomaly train stops on the non-finite loss; with it, it names the op, its input
    /// shapes and the line that called it. Neither run touches the checkpoint already there.
    func testDetectAnomaly() throws {
        let out = path("anomaly")
        XCTAssertEqual(try run(["train", "--model", "mlp", "--epochs", "1", "--output", out]).status, 0)
        let saved = try Data(contentsOf: URL(fileURLWithPath: out + "/last.safetensors"))
        let diverging = ["train", "--model", "mlp", "--optimizer", "sgd", "--lr", "100", "--epochs", "4", "--output", out]
        let plain = try run(diverging)
        XCTAssertTrue(plain.status > 0 && plain.status < 128)
        XCTAssertTrue(plain.stderr.contains("the loss became nan at epoch 1, batch 9; stopping before the first checkpoint"), plain.stderr)
        let hunted = try run(diverging + ["--detect-anomaly"])
        XCTAssertTrue(hunted.status > 0 && hunted.status < 128)
        // One line (besides the built-in GEMM's notice when no BLAS is loaded).
        XCTAssertEqual(hunted.stderr.split(separator: "\n").filter { !$0.hasPrefix("Descent: no optimized BLAS") }.count, 1, hunted.stderr)
        XCTAssertTrue(hunted.stderr.contains("at epoch 1, batch 9: [anomaly] in the forward pass, AddmmBackward (inputs (64, 64), (10, 64), (10,)) gave infinity in its output; the op was called at Train.swift:"), hunted.stderr)
        XCTAssertTrue(hunted.stderr.contains("inside Linear.forward(_:)"), hunted.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/last.safetensors")), saved)
    }

    /// inspect answers every file of the bad-file corpus (Tests/Fixtures/bad) and every bad data
    /// file with one line naming the file, and an exit status between 1 and 127 (no crash).
    func testInspectRefusesBadFiles() throws {
        let bad = Self.fixtures.deletingLastPathComponent().appendingPathComponent("bad")
        let corpus = try FileManager.default.contentsOfDirectory(atPath: bad.path).filter { !$0.contains("nan_pixels") }.sorted()
        XCTAssertGreaterThanOrEqual(corpus.count, 19)
        let data = ["truncated.idx", "truncated.idx.gz", "not_gzip.idx.gz", "bad_magic.idx", "huge_shape.idx", "bad_type.idx",
                    "nan.csv", "ragged.csv", "bad_label.csv", "not_number.csv", "header_only.csv", "image.png"]
        let files = corpus.map { bad.appendingPathComponent($0).path } + data.map { Self.fixtures.appendingPathComponent($0).path }
        for file in files {
            let r = try run(["inspect", file])
            XCTAssertTrue(r.status > 0 && r.status < 128, "\(file): exit \(r.status)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(file): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("Error: ") && r.stderr.contains(file), "\(file): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(file): printed before refusing")
        }
        let other = try run(["inspect", bad.appendingPathComponent("other_model_checkpoint.safetensors").path])
        XCTAssertTrue(other.stderr.contains("does not hold the weights of a cnn model: error loading state dict: missing keys: 0.weight"), other.stderr)
        let png = try run(["inspect", Self.fixtures.appendingPathComponent("image.png").path])
        XCTAssertTrue(png.stderr.contains("image.png': header length"), png.stderr)
        // A NaN pixel in a user's IDX images stops train with the file and the pixel.
        let idx = path("nan")
        try FileManager.default.createDirectory(atPath: idx, withIntermediateDirectories: true)
        for (from, to) in [("nan_pixels-images.idx", "train-images-idx3-ubyte"), ("nan_pixels-labels.idx", "train-labels-idx1-ubyte"),
                           ("nan_pixels-images.idx", "t10k-images-idx3-ubyte"), ("nan_pixels-labels.idx", "t10k-labels-idx1-ubyte")] {
            try FileManager.default.copyItem(atPath: bad.appendingPathComponent(from).path, toPath: idx + "/" + to)
        }
        let nan = try run(["train", "--idx", idx, "--model", "mlp", "--output", path("n")])
        XCTAssertTrue(nan.status > 0 && nan.status < 128)
        XCTAssertTrue(nan.stderr.contains("train-images-idx3-ubyte': pixel 4 of image 1 is nan, not a finite number"), nan.stderr)
    }

    /// `descent lab all --quick` prints each verdict and writes the JSON, the SVG figures and
    /// index.html; an unknown experiment is refused.
    /// The lab from the command line: several experiments in one run write their results and
    /// index.html. (Every experiment's own claim is checked by DescentLabTests; `lab all` runs in
    /// .ci/run with the release binary, where Chromium checks its report.)
    func testLab() throws {
        let out = path("lab")
        let names = ["nonlinearity", "convolution", "backprop"]
        let r = try run(["lab"] + names + ["--quick", "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.components(separatedBy: "verdict: Confirmed").count - 1, 3, r.stdout)
        XCTAssertTrue(r.stdout.contains("3 of 3 claims confirmed"), r.stdout)
        for name in names {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/\(name)/result.json"))) as! [String: Any]
            XCTAssertEqual(json["holds"] as? Bool, true, name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/memory"))
        let html = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<section id=").count - 1, 3)
        let bad = try run(["lab", "gravity"])
        XCTAssertTrue(bad.stderr.contains("unknown experiment 'gravity'"), bad.stderr)
    }
}
