import Descent
import Foundation

/// Loss, accuracy and confusion matrix of a classifier on a data set.
struct Evaluation {
    var loss: Double
    var accuracy: Double
    /// confusion[true class][predicted class] counts.
    var confusion: [[Int]]

    /// Runs `model` in evaluation mode over `data` in batches, without recording gradients.
    static func run(_ model: Module, on data: ImageDataset, batchSize: Int = 256) -> Evaluation {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var lossSum = 0.0, correct = 0
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: data.classes), count: data.classes)
        withNoGrad {
            for batch in DataLoader(data, batchSize: batchSize, prefetch: false) {
                let logits = model(batch.inputs)
                lossSum += crossEntropy(logits, batch.targets, reduction: .sum).itemDouble
                let predicted = logits.argmax(dim: 1).toArray(Int64.self), truth = batch.targets.toArray(Int64.self)
                for (p, t) in zip(predicted, truth) {
                    if p == t { correct += 1 }
                    if Int(p) < data.classes { confusion[Int(t)][Int(p)] += 1 }
                }
            }
        }
        let n = Double(max(data.count, 1))
        return Evaluation(loss: lossSum / n, accuracy: Double(correct) / n, confusion: confusion)
    }

    /// The confusion matrix as a text table: rows true classes, columns predicted ones.
    func confusionTable() -> String {
        let width = max(4, String(confusion.flatMap { $0 }.max() ?? 0).count + 1)
        func cell(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        var lines = ["confusion matrix (rows: true class, columns: predicted)",
                     cell("") + confusion.indices.map { cell(String($0)) }.joined()]
        for (t, row) in confusion.enumerated() { lines.append(cell(String(t)) + row.map { cell(String($0)) }.joined()) }
        return lines.joined(separator: "\n")
    }
}

/// Progress of an epoch: a bar redrawn in place on a terminal, nothing between epochs otherwise
/// (the epoch's summary line is printed either way).
final class Progress {
    let interactive: Bool
    /// A bar on a terminal; none when not `enabled` (the ranks other than 0).
    init(enabled: Bool = true) { interactive = enabled && isatty(STDOUT_FILENO) != 0 }
    private var start = Date(), lastDraw = Date.distantPast

    func begin() { start = Date() }

    /// Redraws the bar after `done` of `total` batches (at most ten times a second).
    func update(done: Int, total: Int, loss: Double, samples: Int) {
        guard interactive else { return }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start), width = 30
        let filled = total > 0 ? width * done / total : width
        let rate = elapsed > 0 ? Double(samples) / elapsed : 0
        let left = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        print("\r[\(bar)] \(done)/\(total) loss \(String(format: "%.4f", loss)) \(Int(rate)) samples/s \(String(format: "%.0f", left))s left",
              terminator: "")
        fflush(stdout)
    }

    /// Clears the bar (on a terminal) before the epoch's line.
    func end() {
        guard interactive else { return }
        print("\r" + String(repeating: " ", count: 100) + "\r", terminator: "")
    }
}
