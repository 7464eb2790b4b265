import Foundation

/// State that belongs to the calling thread, as PyTorch's grad mode does: whether ops record
/// the graph, and the default random generator. Several models trained or evaluated at once on
/// different threads then never see each other's `withNoGrad` or random draws, and give the
/// numbers each gives alone.
///
/// A thread's state is made at its first use: grad mode on, and a generator seeded with the
/// seed last given to `manualSeed` (0 before any), so a thread that seeds its own generator
/// draws the same numbers whatever the other threads do.
final class ThreadState {
    var gradEnabled = true
    var generator: Generator
    /// Anomaly detection: on or off, and the first anomaly found while on.
    var detectAnomaly = false
    /// Inside `withAutocast`: products take bfloat16 operands.
    var autocast = false
    /// The float32 products being computed have bfloat16 values as operands: an autocast
    /// product, or the backward of one (whose incoming gradient is rounded to bfloat16 too).
    /// `Kernels.gemm` then runs them on the bf16 dot-product kernel where the CPU has one.
    var bfloat16Operands = false
    /// How many `withAutocast` blocks (enabled or not) the thread is inside.
    var autocastDepth = 0
    /// Inside `withAutocast`: the bfloat16-rounded copy of each leaf tensor that requires a
    /// gradient (a weight), made at its first use in the region (Autocast.rounded); dropped when
    /// the outermost block ends.
    var autocastCache: [ObjectIdentifier: (source: Tensor, rounded: Tensor)] = [:]
    var firstAnomaly: AnomalyError?
    /// While anomaly detection is on: the modules whose forward is running, innermost last
    /// (their type names), so that an op's report names its layer in optimized builds too,
    /// where a layer's frame can be gone from the call stack.
    var modules: [String] = []
    /// Callbacks to run when the backward pass in progress ends (Autograd.queueCallback).
    var backwardCallbacks: [() -> Void] = []
    /// The gradient the backward rule now running received, where the engine held its only
    /// reference (no view, saved tensor, retained or user's tensor shares its storage): the rule
    /// may write its result over it (`Autograd.mayOverwrite`: ReLU's and batch norm's rules). Nil
    /// otherwise.
    var disposableGradient: ObjectIdentifier?

    private init() { generator = Generator(seed: ThreadState.defaultSeed.value) }

    /// The seed new threads' generators start from (`manualSeed` sets it).
    static let defaultSeed = GlobalCell<UInt64>(0)

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // The destructor releases the thread's state when the thread ends.
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<ThreadState>.fromOpaque(pointer).release() }
        }
        return key
    }()

    /// The calling thread's state.
    static var current: ThreadState {
        @inline(__always) get {
            if let p = pthread_getspecific(key) { return Unmanaged<ThreadState>.fromOpaque(p).takeUnretainedValue() }
            let state = ThreadState()
            pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
            return state
        }
    }
}
