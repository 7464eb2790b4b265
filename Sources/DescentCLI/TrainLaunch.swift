import Descent
import Foundation

/// How `descent train` runs: alone, or as one rank of `mpirun -np N descent train …`.
///
/// Under a launcher every rank builds the same model, `DistributedDataParallel` broadcasts rank
/// 0's weights and averages the gradients, and each rank trains on its share of every global
/// batch of `--batch-size` examples (`DistributedSampler`, shuffled by the seed and the epoch).
/// Rank 0 alone prints, evaluates and writes the checkpoints; an error on any rank stops every
/// rank with the error and the rank's number.
struct TrainLaunch {
    let group: ProcessGroup

    /// Joins the launcher's ranks, or runs alone when no launcher started this process.
    static func start() throws -> TrainLaunch {
        guard ProcessGroup.launcherWorldSize != nil else { return TrainLaunch(group: .single) }
        do {
            return TrainLaunch(group: try ProcessGroup.initialize())
        } catch let error as DistributedError {
            throw CLIError("\(error)")
        }
    }

    var isDistributed: Bool { group.worldSize > 1 }
    /// Prints, evaluates and writes files.
    var isLeader: Bool { group.rank == 0 }

    /// "2 ranks × 1 thread" for the run's header.
    var description: String {
        isDistributed ? "\(group.worldSize) ranks × \(Descent.threads) thread\(Descent.threads == 1 ? "" : "s") (\(group.backend))"
            : "\(Descent.threads) threads"
    }

    /// Runs the training; an error on one rank stops all of them (MPI_Abort) with its message.
    func run(_ body: () throws -> Void) throws {
        guard isDistributed else { return try body() }
        do {
            try body()
        } catch {
            group.abort("Error: \(error)")
        }
        group.finalize()
    }

    /// The examples of each rank's share of a global batch.
    func localBatchSize(_ global: Int) throws -> Int {
        guard global % group.worldSize == 0 else {
            throw CLIError("--batch-size \(global) does not split over \(group.worldSize) ranks; give a multiple of \(group.worldSize)")
        }
        return global / group.worldSize
    }

    /// The module that trains: `model` itself, or wrapped for data-parallel training.
    func wrap(_ model: Module, syncBatchNorm: Bool) throws -> Module {
        guard isDistributed else { return model }
        if syncBatchNorm { SyncBatchNorm.convert(model, group: group) }
        do {
            return try DistributedDataParallel(model, group: group)
        } catch let error as DistributedError {
            throw CLIError("\(error)")
        }
    }

    /// Each rank's values summed over the ranks (the epoch's loss sum, correct and seen counts).
    func sum(_ values: [Double]) -> [Double] {
        guard isDistributed else { return values }
        let t = Tensor(values, dtype: .float64)
        group.allReduce(t)
        return t.toArray(Double.self)
    }

    /// Rank 0's value on every rank.
    func fromLeader(_ value: Double) -> Double {
        guard isDistributed else { return value }
        let t = Tensor([value], dtype: .float64)
        group.broadcast(t)
        return t.toArray(Double.self)[0]
    }

    /// Checks that every rank ends with rank 0's parameters (one checksum per tensor, gathered
    /// from all ranks); the line to print, or an error naming the first rank that differs.
    func checkIdentical(_ model: Module) throws -> String? {
        guard isDistributed else { return nil }
        let (differing, checksum) = Self.compare(model, over: group)
        if let r = differing { throw CLIError("the parameters on rank \(r) differ from rank 0's after training") }
        return "parameters and buffers identical on all \(group.worldSize) ranks (checksum \(String(format: "%.6f", checksum)))"
    }

    /// Gathers one checksum per parameter and floating-point buffer from every rank: the first
    /// rank whose checksums differ from rank 0's (nil when none), and rank 0's total.
    static func compare(_ model: Module, over group: ProcessGroup) -> (differing: Int?, checksum: Double) {
        let tensors = model.parameters() + model.namedBuffers().map(\.tensor).filter { $0.dtype.isFloatingPoint }
        let rows = group.allGather(Tensor(tensors.map { $0.double().sum().itemDouble }, dtype: .float64))
        let first = rows.select(dim: 0, index: 0).toArray(Double.self)
        let differing = (1..<max(group.worldSize, 1)).first { rows.select(dim: 0, index: $0).toArray(Double.self) != first }
        return (differing, first.reduce(0, +))
    }

    /// Test hook: `DESCENT_FAULT_KILL=RANK:STEP` kills that rank (SIGKILL) after that step.
    static let killAt: (rank: Int, step: Int)? = {
        let parts = ProcessInfo.processInfo.environment["DESCENT_FAULT_KILL"]?.split(separator: ":").compactMap { Int($0) } ?? []
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }()

    func faultPoint(step: Int) {
        if let kill = Self.killAt, kill.rank == group.rank, kill.step == step { raise(SIGKILL) }
    }
}
