import ArgumentParser
import Descent
import DescentLab
import Foundation

/// The lessons of the notes as experiments: `descent lab vanishing`, `descent lab all`.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run a lesson of the notes as an experiment (or all of them) and write its numbers, plots and a verdict.",
        discussion: "Experiments: \(Lab.experiments.map { $0.name }.joined(separator: ", ")). `all` runs them and writes index.html.")

    @Argument(help: "An experiment's name, or all.") var experiment: String
    @Flag(help: "A small size (seconds), as the tests run.") var quick = false
    @Option(help: "Folder for the JSON numbers, SVG plots and index.html.") var output = "runs/lab"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        let names = Lab.experiments.map { $0.name }
        guard experiment == "all" || names.contains(experiment) else {
            throw ValidationError("unknown experiment '\(experiment)'; choose one of \(names.joined(separator: ", ")) or all")
        }
    }

    func run() throws {
        try common.apply()
        let folder = URL(fileURLWithPath: output)
        let chosen = experiment == "all" ? Lab.experiments : Lab.experiments.filter { $0.name == experiment }
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
        if experiment == "all" {
            try HTMLReport.page(reports).write(to: folder.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
            print("wrote \(output)/index.html: \(reports.filter(\.holds).count) of \(reports.count) claims confirmed")
        }
    }
}
