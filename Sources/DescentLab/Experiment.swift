import Descent
import DescentPlot
import Foundation

/// What one lab experiment measured: a table, a verdict computed from the numbers, the numbers
/// themselves (written as JSON) and its figures (SVG).
public struct LabReport {
    /// The experiment's command name, e.g. "vanishing".
    public var name: String
    /// A one-line title.
    public var title: String
    /// The claim of the notes the experiment checks.
    public var claim: String
    /// The table: a header row, then the rows.
    public var table: [[String]]
    /// Whether the measured numbers bear the claim out.
    public var holds: Bool
    /// One line saying what the run showed, computed from its numbers.
    public var verdict: String
    /// The measured numbers, by name.
    public var numbers: [String: Double]
    /// The figures: a file name and its SVG text.
    public var figures: [(name: String, svg: String)]
    /// Wall time of the run, in seconds.
    public var seconds: Double = 0

    /// - Parameters: the fields above.
    public init(name: String, title: String, claim: String, table: [[String]], holds: Bool, verdict: String,
                numbers: [String: Double], figures: [(name: String, svg: String)]) {
        self.name = name; self.title = title; self.claim = claim; self.table = table; self.holds = holds
        self.verdict = verdict; self.numbers = numbers; self.figures = figures
    }

    /// The table as aligned text.
    public var tableText: String {
        guard let header = table.first else { return "" }
        let widths = header.indices.map { c in table.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + table.dropFirst().map(line))
            .joined(separator: "\n")
    }

    /// Writes `result.json` and the figures into `folder/name/`.
    public func write(to folder: URL) throws {
        let dir = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let object: [String: Any] = ["name": name, "title": title, "claim": claim, "holds": holds, "verdict": verdict,
                                     "seconds": seconds, "table": table, "numbers": numbers.mapValues { $0.isFinite ? $0 as Any : "\($0)" },
                                     "figures": figures.map(\.name)]
        let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: dir.appendingPathComponent("result.json"))
        for f in figures { try f.svg.write(to: dir.appendingPathComponent(f.name), atomically: true, encoding: .utf8) }
    }
}

/// A lesson of the notes as an experiment: seeded, a default size under two minutes on two
/// cores and a `quick` size for tests.
public protocol LabExperiment {
    /// The command name, e.g. "vanishing".
    static var name: String { get }
    /// Runs the experiment.
    static func run(quick: Bool) -> LabReport
}

/// The experiments, in the order of the notes.
public enum Lab {
    /// Every experiment by name.
    public static let experiments: [LabExperiment.Type] = [Nonlinearity.self, Vanishing.self, Exploding.self, DyingReLU.self, Saturation.self,
                                                          BatchNormLesson.self, ConvolutionLesson.self, UpsamplingLesson.self,
                                                          Backprop.self, Memory.self]

    /// Runs `experiment`, timing it.
    public static func run(_ experiment: LabExperiment.Type, quick: Bool) -> LabReport {
        let start = Date()
        var report = experiment.run(quick: quick)
        report.seconds = Date().timeIntervalSince(start)
        return report
    }
}

/// Formats a number for a table: 3 significant digits, scientific when small or large.
func fmt(_ v: Double) -> String {
    if !v.isFinite { return "\(v)" }
    if v == 0 { return "0" }
    return abs(v) < 1e-3 || abs(v) >= 1e5 ? String(format: "%.2e", v) : String(format: "%.4g", v)
}

/// The L2 norm of a tensor's values.
func norm(_ t: Tensor) -> Double { (t.to(.float64) * t.to(.float64)).sum().itemDouble.squareRoot() }

/// Runs `steps` steps of gradient descent on the loss `loss()` returns (zero the gradients,
/// backward, `optimizer.step()`), calling `after` after each; returns the losses. Stops at the
/// first loss that is not finite (it is the last one returned).
@discardableResult
func descend(_ optimizer: any Optimizer, steps: Int, _ loss: () -> Tensor, after: (Int) -> Void = { _ in }) -> [Double] {
    var losses: [Double] = []
    for step in 0..<steps {
        let l = loss()
        optimizer.zeroGrad()
        l.backward()
        losses.append(l.itemDouble)
        if !l.itemDouble.isFinite { break }
        optimizer.step()
        after(step)
    }
    return losses
}
