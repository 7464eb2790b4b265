import Foundation

/// Why distributed training could not start or go on.
public struct DistributedError: Error, CustomStringConvertible {
    /// What went wrong, in one line.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// The processes of one training job and the collectives between them, over MPI: PyTorch's
/// `torch.distributed` with the `mpi` backend.
///
/// Start the job with a launcher (`mpirun -np 4 program`, `srun`); each process calls
/// ``ProcessGroup/initialize(timeout:)`` once and gets its ``rank`` in `0..<worldSize`. MPI is
/// loaded at run time (Open MPI's `libmpi.so.40`, or MPICH's `libmpi.so.12`; `DESCENT_MPI_LIBRARY`
/// names another): nothing MPI is needed to build Descent, and a program started without a
/// launcher runs as a group of one (``single``), whose collectives change nothing.
///
/// Collectives take contiguous float32 or float64 tensors and change them in place, as
/// `dist.all_reduce` does. Every rank must call the same collectives in the same order. Each
/// waits at most ``timeout`` seconds: a rank that died or hangs makes the others stop with a
/// message (through `MPI_Abort`, which ends every rank of the job) instead of waiting forever.
public final class ProcessGroup {
    /// This process's index, `0..<worldSize`.
    public let rank: Int
    /// The number of processes.
    public let worldSize: Int
    /// Seconds a collective may wait for the other ranks before the job stops (default 300,
    /// or `DESCENT_DIST_TIMEOUT`).
    public var timeout: Double
    /// The MPI library in use, e.g. "Open MPI v4.1.4" ("" for ``single``).
    public let backend: String

    private init(rank: Int, worldSize: Int, timeout: Double, backend: String) {
        self.rank = rank
        self.worldSize = worldSize
        self.timeout = timeout
        self.backend = backend
    }

    /// A group of this process alone: every collective leaves its tensor as it is.
    public static let single = ProcessGroup(rank: 0, worldSize: 1, timeout: 0, backend: "")

    /// The group ``initialize(timeout:)`` made, if any.
    public private(set) static var world: ProcessGroup?

    /// The number of processes a launcher started this one among (Open MPI's
    /// `OMPI_COMM_WORLD_SIZE`, MPICH's `PMI_SIZE`, Slurm's `SLURM_NTASKS` under `srun`), or nil
    /// when no launcher started it.
    public static var launcherWorldSize: Int? {
        let env = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"] {
            if let n = env[key].flatMap(Int.init) { return n }
        }
        if env["SLURM_PROCID"] != nil, env["SLURM_STEP_ID"] != nil, let n = env["SLURM_NTASKS"].flatMap(Int.init) { return n }
        return nil
    }

    /// Joins the job's processes (`MPI_Init_thread`); call once per process, before any
    /// collective. Throws when no MPI library can be loaded, saying what to install.
    public static func initialize(timeout: Double? = nil) throws -> ProcessGroup {
        if let world { return world }
        let env = ProcessInfo.processInfo.environment
        if let reason = Kernels.MPI.load(path: env["DESCENT_MPI_LIBRARY"]) {
            throw DistributedError("distributed training needs an MPI library, and \(reason); install Open MPI "
                                   + "(Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) and start the job with mpirun")
        }
        guard let (rank, size) = Kernels.MPI.initialize() else {
            throw DistributedError("MPI_Init_thread failed in \(Kernels.MPI.library)")
        }
        let limit = timeout ?? env["DESCENT_DIST_TIMEOUT"].flatMap(Double.init) ?? 300
        let version = Kernels.MPI.version.split(separator: ",").first.map(String.init) ?? ""
        let group = ProcessGroup(rank: rank, worldSize: size, timeout: limit,
                                 backend: version.isEmpty ? Kernels.MPI.library : version)
        world = group
        return group
    }

    /// Leaves MPI at the end of the program (`MPI_Finalize`), after a last barrier.
    public func finalize() {
        guard worldSize > 1 || !backend.isEmpty else { return }
        barrier()
        Kernels.MPI.finalize()
    }

    /// Stops every rank of the job with `message` on this rank's stderr, naming the rank.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("Descent: rank \(rank) of \(worldSize): \(message)\n".utf8))
        if worldSize > 1 { Kernels.MPI.abort(code: code) }
        exit(code)
    }

    // MARK: Collectives

    /// Waits until every rank has called `barrier`.
    public func barrier() {
        guard worldSize > 1 else { return }
        let (request, rc) = Kernels.MPI.startBarrier()
        finish(request, rc)
    }

    /// How `allReduce` combines the ranks' tensors.
    public enum ReduceOp: Sendable {
        case sum, mean, max
    }

    /// Replaces `tensor` on every rank by the elementwise sum (mean, max) of all ranks' tensors.
    public func allReduce(_ tensor: Tensor, _ op: ReduceOp = .sum) {
        checkCollective(tensor, "allReduce")
        guard worldSize > 1 else { return }
        var request = start(tensor, op)
        wait(&request)
        if op == .mean { withNoGrad { tensor.mulAssign(Tensor(1 / Double(worldSize), dtype: tensor.dtype)) } }
    }

    /// Replaces `tensor` on every rank by rank `root`'s.
    public func broadcast(_ tensor: Tensor, from root: Int = 0) {
        checkCollective(tensor, "broadcast")
        check(root >= 0 && root < worldSize, "[broadcast] root \(root) is not a rank of a group of \(worldSize)")
        guard worldSize > 1 else { return }
        let bytes = tensor.count * tensor.dtype.byteSize
        let p = UnsafeMutableRawPointer(tensor.storage.typed(UInt8.self) + tensor.offset * tensor.dtype.byteSize)
        let (request, rc) = Kernels.MPI.startBroadcast(p, bytes: bytes, root: root)
        finish(request, rc)
    }

    /// Every rank's `tensor`, stacked: shape `[worldSize] + tensor.shape`, rank r's at index r.
    public func allGather(_ tensor: Tensor) -> Tensor {
        checkCollective(tensor, "allGather")
        let out = Tensor.zeros([worldSize] + tensor.shape, dtype: tensor.dtype)
        guard worldSize > 1 else {
            withNoGrad { out.select(dim: 0, index: 0).assign(tensor) }
            return out
        }
        let bytes = tensor.count * tensor.dtype.byteSize
        let send = UnsafeRawPointer(tensor.storage.typed(UInt8.self) + tensor.offset * tensor.dtype.byteSize)
        let (request, rc) = Kernels.MPI.startAllGather(send, UnsafeMutableRawPointer(out.storage.typed(UInt8.self)), bytes: bytes)
        finish(request, rc)
        return out
    }

    /// Rank `root`'s bytes, on every rank (any length).
    public func broadcast(bytes: [UInt8], from root: Int = 0) -> [UInt8] {
        guard worldSize > 1 else { return bytes }
        var length = [Double(bytes.count)]
        length.withUnsafeMutableBytes { raw in
            let (request, rc) = Kernels.MPI.startBroadcast(raw.baseAddress!, bytes: 8, root: root)
            finish(request, rc)
        }
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        guard !out.isEmpty else { return out }
        out.withUnsafeMutableBytes { raw in
            let (request, rc) = Kernels.MPI.startBroadcast(raw.baseAddress!, bytes: raw.count, root: root)
            finish(request, rc)
        }
        return out
    }

    /// Every rank's bytes (of any length), in rank order.
    public func allGather(bytes: [UInt8]) -> [[UInt8]] {
        guard worldSize > 1 else { return [bytes] }
        let lengths = allGather(Tensor([Double(bytes.count)], dtype: .float64)).toArray(Double.self).map { Int($0) }
        let width = lengths.max() ?? 0
        guard width > 0 else { return lengths.map { _ in [] } }
        var send = bytes + [UInt8](repeating: 0, count: width - bytes.count)
        var receive = [UInt8](repeating: 0, count: width * worldSize)
        send.withUnsafeMutableBytes { s in
            receive.withUnsafeMutableBytes { r in
                let (request, rc) = Kernels.MPI.startAllGather(UnsafeRawPointer(s.baseAddress!), r.baseAddress!, bytes: width)
                finish(request, rc)
            }
        }
        return (0..<worldSize).map { Array(receive[$0 * width..<($0 * width + lengths[$0])]) }
    }

    // MARK: Requests (the data-parallel reducer overlaps its all-reduces with backward)

    /// Starts an all-reduce of a contiguous tensor in place; `wait` finishes it.
    func start(_ tensor: Tensor, _ op: ReduceOp = .sum) -> Kernels.MPI.Request {
        let (request, rc) = Kernels.MPI.startAllReduce(tensor, max: op == .max)
        if rc != 0 { abort("MPI error \(rc) starting the \(request.what)") }
        return request
    }

    /// Lets MPI progress a request without waiting for it.
    func poll(_ request: inout Kernels.MPI.Request) -> Bool { Kernels.MPI.test(&request) }

    /// Waits for a request, stopping the job if it has not completed within `timeout`.
    func wait(_ request: inout Kernels.MPI.Request) {
        switch Kernels.MPI.wait(&request, timeout: timeout) {
        case .done: return
        case .timedOut:
            abort("the \(request.what) did not complete within \(Self.seconds(timeout)): another rank stopped or is stuck "
                  + "(the limit is ProcessGroup.timeout, or DESCENT_DIST_TIMEOUT)")
        case .failed(let rc): abort("MPI error \(rc) in the \(request.what)")
        }
    }

    private func finish(_ request: Kernels.MPI.Request, _ rc: Int32) {
        if rc != 0 { abort("MPI error \(rc) starting the \(request.what)") }
        var request = request
        wait(&request)
    }

    private func checkCollective(_ t: Tensor, _ op: String) {
        check(t.dtype.isFloatingPoint, "[\(op)] collectives take float32 or float64 tensors, got \(t.dtype)")
        check(t.isContiguous, "[\(op)] expected a contiguous tensor (call contiguous() first), got shape \(Shape.describe(t.shape)) with strides \(t.strides)")
        check(t.count < Int(Int32.max) / 8, "[\(op)] a tensor of \(t.count) elements is too large for one collective")
    }

    private static func seconds(_ t: Double) -> String { t == t.rounded() ? "\(Int(t)) s" : "\(t) s" }
}
