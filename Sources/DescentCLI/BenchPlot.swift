import ArgumentParser
import DescentPlot
import Foundation

/// Draws benchmark ratios as a bar chart (Scripts/bench_compare.py report writes the input).
struct BenchPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw ratios (a JSON list of [label, value] pairs) as an SVG bar chart on a log axis around 1.")

    @Option(help: "JSON file: [[\"label\", value], …], top bar first.") var input: String
    @Option(help: "SVG file to write.") var output: String
    @Option(help: "Title above the chart.") var title = "Descent time ÷ PyTorch time"
    @Option(help: "Label under the axis.") var xLabel = "ratio (below 1: Descent faster)"
    @Option(help: "Draw a target line here and colour bars by it.") var target: Double?

    func run() throws {
        guard let data = FileManager.default.contents(atPath: input) else { throw CLIError("cannot read '\(input)'") }
        guard let rows = (try? JSONSerialization.jsonObject(with: data)) as? [[Any]] else {
            throw CLIError("'\(input)' is not a JSON list of [label, value] pairs")
        }
        let bars = try rows.map { row -> (label: String, value: Double) in
            guard row.count == 2, let label = row[0] as? String, let value = (row[1] as? NSNumber)?.doubleValue else {
                throw CLIError("'\(input)': expected [label, value], got \(row)")
            }
            return (label, value)
        }
        let svg = BarChart(title: title, xLabel: xLabel, bars: bars, target: target).svg()
        do { try svg.write(toFile: output, atomically: true, encoding: .utf8) } catch {
            throw CLIError("cannot write '\(output)': \(error.localizedDescription)")
        }
    }
}
