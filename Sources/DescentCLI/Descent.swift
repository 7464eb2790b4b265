import ArgumentParser
import Descent

@main
struct DescentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "descent",
        abstract: "Descent: neural networks in Swift.",
        subcommands: []
    )
}
