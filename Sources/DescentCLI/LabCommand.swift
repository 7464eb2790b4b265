import ArgumentParser
import Descent
import DescentLab
import Foundation

/// The lessons of the notes as experiments: `descent lab vanishing`, `descent lab all`.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run a lesson of the notes as an experiment (or all of them) and write its numbers, plots and a verdict.",
        discussion: "Experiments: \(Lab.experiments.map { $0.name }.joined(separator: ", ")). `all` runs them all; "
            + "with more than one experiment the run also writes index.html.")

    @Argument(help: "One or more experiment names, or all.") var experiments: [String]
    @Flag(help: "A small size (seconds), as the tests run.") var quick = false
    @Option(help: "Folder for the JSON numbers, SVG plots and index.html.") var output = "runs/lab"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        let names = Lab.experiments.map { $0.name }
        guard !experiments.isEmpty else { throw ValidationError("name an experiment: \(names.joined(separator: ", ")) or all") }
        for name in experiments where name != "all" && !names.contains(name) {
            throw ValidationError("unknown experiment '\(name)'; choose one of \(names.joined(separator: ", ")) or all")
        }
    }

    func run() throws {
        try common.apply()
        let folder = URL(fileURLWithPath: output)
        let chosen = experiments.contains("all") ? Lab.experiments : Lab.experiments.filter { experiments.contains($0.name) }
        var reports: [LabReport] = []
        for e in chosen {
            let report = Lab.run(e, quick: quick)
            do { try report.write(to: folder) } catch { throw CLIError("--output: cannot write to \(output): \(error)") }
            print("== \(report.title) (descent lab \(report.name), \(String(format: "%.1f", report.seconds)) s)")
            print(report.tableText)
            print("verdict: \(report.verdict)")
            print("wrote \(output)/\(report.name)/result.json, " + report.figures.map { "\(output)/\(report.name)/\($0.name)" }.joined(separator: ", "))
            print("")
            reports.append(report)
        }
        if chosen.count > 1 {
            try HTMLReport.page(reports).write(to: folder.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
            print("wrote \(output)/index.html: \(reports.filter(\.holds).count) of \(reports.count) claims confirmed")
        }
    }
}
