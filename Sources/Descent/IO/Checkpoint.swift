import Foundation

/// Everything needed to resume training where it stopped, in one safetensors file: the
/// model's state dict, the optimizer's and the schedule's, the epoch and step reached, the
/// random generators' states, and string metadata (what model, what recipe).
///
/// Keys: `model.*`, `optimizer.*`, `scheduler.*` (the three state dicts), `progress.epoch` and
/// `progress.step` (int64), `rng.NAME` (a generator's six state words as int64 bit patterns);
/// the metadata has `format: descent-checkpoint`. The file is written atomically, so a crash
/// while saving leaves the previous checkpoint intact. The model's entries load in PyTorch as
/// any safetensors file (strip the `model.` prefix).
public struct Checkpoint {
    /// The model's state dict.
    public var model: StateDict
    /// The optimizer's state dict (empty if none was saved).
    public var optimizer: StateDict
    /// The learning-rate schedule's state dict (empty if none).
    public var scheduler: StateDict
    /// Epochs completed.
    public var epoch: Int
    /// Optimizer steps taken.
    public var step: Int
    /// Random generators by name (for example "global" and "loader").
    public var generators: [String: Generator]
    /// Strings describing the run (model, data, optimizer, flags), saved as the file's metadata.
    public var metadata: [String: String]

    /// - Parameters:
    ///   - model: The model's state dict.
    ///   - optimizer: The optimizer's state dict.
    ///   - scheduler: The schedule's state dict.
    ///   - epoch: Epochs completed.
    ///   - step: Optimizer steps taken.
    ///   - generators: Random generators to restore on resume, by name.
    ///   - metadata: Strings describing the run.
    public init(model: StateDict, optimizer: StateDict = StateDict(), scheduler: StateDict = StateDict(), epoch: Int = 0,
                step: Int = 0, generators: [String: Generator] = [:], metadata: [String: String] = [:]) {
        self.model = model; self.optimizer = optimizer; self.scheduler = scheduler
        self.epoch = epoch; self.step = step; self.generators = generators; self.metadata = metadata
    }

    static let format = "descent-checkpoint"

    /// Writes the checkpoint to `path` atomically (temporary file, fsync, rename).
    public func save(to path: String) throws {
        var tensors: [(name: String, tensor: Tensor)] = []
        for (prefix, state) in [("model", model), ("optimizer", optimizer), ("scheduler", scheduler)] {
            tensors += state.entries.map { ("\(prefix).\($0.key)", $0.tensor) }
        }
        tensors.append(("progress.epoch", Tensor(Int64(epoch))))
        tensors.append(("progress.step", Tensor(Int64(step))))
        for (name, g) in generators.sorted(by: { $0.key < $1.key }) {
            tensors.append(("rng.\(name)", Tensor(g.state.map { Int64(bitPattern: $0) })))
        }
        var meta = metadata
        meta["format"] = Self.format
        try SafeTensors(tensors: tensors, metadata: meta).save(to: path)
    }

    /// Reads a checkpoint written by `save(to:)`.
    /// - Throws: `SafeTensorsError` for a file that is not valid safetensors, and
    ///   `CheckpointError` for a valid file that is not a checkpoint or lacks a part.
    public static func load(from path: String) throws -> Checkpoint {
        try Checkpoint(try SafeTensors.load(from: path), path: path)
    }

    /// The checkpoint in a safetensors file already read; `path` names it in errors.
    /// - Throws: `CheckpointError` for a file that is not a checkpoint or lacks a part.
    public init(_ file: SafeTensors, path: String) throws {
        func fail(_ m: String) -> CheckpointError { CheckpointError(path: path, message: m) }
        guard file.metadata["format"] == Self.format else {
            throw fail("is not a Descent checkpoint (no 'format: \(Self.format)' metadata); a model's state dict loads with StateDict.load(from:)")
        }
        var parts: [String: [(key: String, tensor: Tensor)]] = ["model": [], "optimizer": [], "scheduler": []]
        var progress: [String: Int] = [:]
        var generators: [String: Generator] = [:]
        for (name, t) in file.tensors {
            guard let dot = name.firstIndex(of: ".") else { throw fail("unexpected entry '\(name)'") }
            let prefix = String(name[..<dot]), rest = String(name[name.index(after: dot)...])
            switch prefix {
            case "model", "optimizer", "scheduler": parts[prefix]!.append((rest, t))
            case "progress":
                guard t.dtype == .int64, t.count == 1 else { throw fail("'\(name)' should be one int64") }
                progress[rest] = Int(t.toArray(Int64.self)[0])
            case "rng":
                guard t.dtype == .int64, let g = Generator(state: t.toArray(Int64.self).map { UInt64(bitPattern: $0) }) else {
                    throw fail("'\(name)' is not a generator's state")
                }
                generators[rest] = g
            default: throw fail("unexpected entry '\(name)'")
            }
        }
        guard !parts["model"]!.isEmpty else { throw fail("holds no model state (no 'model.' entries)") }
        guard let epoch = progress["epoch"], let step = progress["step"], epoch >= 0, step >= 0 else {
            throw fail("has no valid progress.epoch and progress.step")
        }
        var meta = file.metadata
        meta["format"] = nil
        self.init(model: StateDict(parts["model"]!), optimizer: StateDict(parts["optimizer"]!),
                  scheduler: StateDict(parts["scheduler"]!), epoch: epoch, step: step, generators: generators, metadata: meta)
    }
}

/// A file that is valid safetensors but not a usable checkpoint: which file, and what is wrong.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file's path.
    public let path: String
    /// What is wrong.
    public let message: String
    /// - Parameters:
    ///   - path: The file's path.
    ///   - message: What is wrong.
    public init(path: String, message: String) { self.path = path; self.message = message }
    /// `checkpoint 'PATH': MESSAGE`.
    public var description: String { "checkpoint '\(path)': \(message)" }
}
