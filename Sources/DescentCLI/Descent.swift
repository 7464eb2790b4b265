import ArgumentParser
import Descent

@main
struct DescentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "descent",
        abstract: "Descent: neural networks in Swift, checked against PyTorch.",
        subcommands: [Train.self, SequenceTask.self, Bench.self, Info.self]
    )
}

/// Flags every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Threads for Descent's kernels and BLAS (default: the CPUs this process may use).")
    var threads: Int?

    func apply() throws {
        if let threads {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
            Descent.threads = threads
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the matmul kernel, BLAS and thread count in use.")

    func run() throws {
        print("threads: \(Descent.threads)")
        print("float32 matmul: \(MatmulBackend.resolved.rawValue) (setting: \(MatmulBackend.current.rawValue))")
        print("blas: \(BLAS.isAvailable ? BLAS.name : "none (built-in kernel)")")
        if !BLAS.coreType.isEmpty { print("OPENBLAS_CORETYPE: \(BLAS.coreType)") }
    }
}
