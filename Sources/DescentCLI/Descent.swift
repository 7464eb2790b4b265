import ArgumentParser
import Descent
import Foundation

@main
struct DescentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "descent",
        abstract: "Descent: neural networks in Swift, checked against PyTorch.",
        version: "0.5.0",
        subcommands: [Train.self, Evaluate.self, Predict.self, Inspect.self, LabCommand.self, SequenceTask.self, Bench.self, Info.self, CheckMessage.self, DistCheck.self]
    )

    /// Line-buffers standard output, so that progress piped to a file or `tee` arrives line by
    /// line, and standard error, so that an error line goes out in one write (ArgumentParser
    /// writes it a byte at a time: under mpirun the ranks' identical errors interleaved within
    /// the line); then runs the command.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        setvbuf(stderr, nil, _IOLBF, 0)
        main(nil)
    }
}

/// An error found while a command runs (a bad file, a resume that does not fit): printed as
/// one line, `Error: …`, with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Flags every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Threads for Descent's kernels and BLAS (default: the CPUs this process may use).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Sets the thread count: `--threads`, or the CPUs this process may use shared among the
    /// ranks a launcher started on this machine (`mpirun -np 2` on 2 CPUs: 1 thread each).
    func apply() throws {
        if let threads {
            Descent.threads = threads
        } else {
            let env = ProcessInfo.processInfo.environment
            let local = (env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? env["MPI_LOCALNRANKS"]).flatMap(Int.init) ?? 1
            if local > 1 { Descent.threads = max(1, Descent.threads / local) }
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the matmul kernels, BLAS and thread count in use.")
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        print("threads: \(Descent.threads)")
        print("float32 matmul: \(MatmulBackend.resolved.rawValue) (setting: \(MatmulBackend.current.rawValue))")
        print("bfloat16 products (autocast): \(BFloat16Backend.resolved.rawValue)")
        print("blas: \(BLAS.isAvailable ? BLAS.name : "none (built-in kernel)")")
        if BLAS.isAvailable && !BLAS.coreType.isEmpty { print("OPENBLAS_CORETYPE: \(BLAS.coreType)") }
    }
}
