import Foundation
#if canImport(Runtime)
import Runtime
#endif

/// What anomaly detection found: the first op whose forward output, or whose backward
/// gradient, held NaN or infinity; its inputs' shapes; and where in the program the op was
/// called.
public struct AnomalyError: Error, CustomStringConvertible {
    /// The pass in which the value appeared.
    public enum Pass: String, Sendable { case forward, backward }
    /// The forward or the backward pass.
    public let pass: Pass
    /// The op, by its backward function's name as PyTorch's `grad_fn` (e.g. "LogBackward").
    public let op: String
    /// The shapes of the op's inputs.
    public let inputShapes: [[Int]]
    /// "NaN" or "infinity".
    public let value: String
    /// What held it: "its output", "the gradient for input 0", or an input made outside the
    /// recorded graph.
    public let what: String
    /// Where the op was called, outside the library ("Train.swift:120 in Train.run()"), when
    /// the program has debug information; otherwise the function's name, or nil.
    public let location: String?

    /// One paragraph: the op, the pass, the value, the shapes and the call site.
    public var description: String {
        let shapes = inputShapes.map { Shape.describe($0) }.joined(separator: ", ")
        return "[anomaly] in the \(pass.rawValue) pass, \(op) (inputs \(shapes)) gave \(value) in \(what)"
            + (location.map { "; the op was called at \($0)" } ?? "")
    }
}

/// Runs `body` checking every recorded op's forward output and backward gradients for NaN and
/// infinity (PyTorch's `torch.autograd.detect_anomaly`, which checks the backward pass only),
/// and throws an `AnomalyError` for the first one found, naming the op, its input shapes and
/// where the program called it. The check covers ops that record the graph (grad mode on, an
/// input requiring a gradient); it makes each op slower (a pass over its output and a stack
/// capture), so use it to hunt a NaN, not to train. Off, it costs one flag test per op.
///
/// ```swift
/// do {
///     try withAnomalyDetection {
///         let loss = crossEntropy(model(x), y)
///         loss.backward()
///     }
/// } catch let error as AnomalyError {
///     print(error)  // [anomaly] in the forward pass, LogBackward (inputs (4, 3)) gave NaN in its output; …
/// }
/// ```
public func withAnomalyDetection<R>(_ body: () throws -> R) throws -> R {
    let state = ThreadState.current
    let (wasOn, earlier) = (state.detectAnomaly, state.firstAnomaly)
    state.detectAnomaly = true
    state.firstAnomaly = nil
    defer { state.detectAnomaly = wasOn; state.firstAnomaly = earlier }
    let result = try body()
    if let found = state.firstAnomaly { throw found }
    return result
}

/// Whether anomaly detection is on for the calling thread.
public var isAnomalyDetectionEnabled: Bool { ThreadState.current.detectAnomaly }

/// The call stack at an op's creation, kept by the op's node while anomaly detection is on and
/// turned into a source location only when it is reported.
final class CallSite {
    /// The innermost module whose forward was running (its type name), if any.
    let module: String?
    #if canImport(Runtime)
    let backtrace: Backtrace?
    init() {
        module = ThreadState.current.modules.last
        backtrace = try? Backtrace.capture(limit: 48)
    }
    #else
    init() { module = ThreadState.current.modules.last }
    #endif

    /// The first frame outside Descent's own sources (the program's call of the op), as
    /// "File.swift:LINE in function"; or the first named frame outside the library.
    var location: String? {
        #if canImport(Runtime)
        guard let frames = backtrace?.symbolicated()?.frames else { return nil }
        let symbols = frames.compactMap(\.symbol)
        func inLibrary(_ s: SymbolicatedBacktrace.Symbol) -> Bool {
            if let path = s.sourceLocation?.path { return path.contains("/Sources/Descent/") }
            return s.name.contains("Descent.") && !s.name.contains("DescentCLI") || s.name.hasPrefix("Runtime.")
                || s.name.hasPrefix("CallSite.")
        }
        // A frame with a real line of a source file (an optimized build also names frames
        // "<compiler-generated>:0", such as this class's allocating initializer).
        func hasSource(_ s: SymbolicatedBacktrace.Symbol) -> Bool {
            guard let at = s.sourceLocation else { return false }
            return at.line > 0 && !at.path.hasPrefix("<")
        }
        let outside = symbols.filter { !inLibrary($0) && hasSource($0) }
        if let user = outside.first, let at = user.sourceLocation {
            // The layer whose forward made the op, unless the program's own frame is that forward.
            let layer = module.map { "\($0).forward(_:)" }.flatMap { user.name.hasSuffix($0) ? nil : $0 }
            return "\(URL(fileURLWithPath: at.path).lastPathComponent):\(at.line) in \(user.name)" + (layer.map { ", inside \($0)" } ?? "")
        }
        return symbols.first { !inLibrary($0) && !$0.name.isEmpty }.map(\.name)
        #else
        return nil
        #endif
    }
}

extension Anomaly {
    /// After a recorded op: checks its output and inputs (anomaly detection on).
    static func checkForward(_ op: String, output: Tensor, inputs: [Tensor], site: CallSite) {
        let state = ThreadState.current
        guard state.firstAnomaly == nil else { return }
        if let (i, v) = inputs.lazy.enumerated().compactMap({ i, t in Kernels.firstNonFinite(t).map { (i, $0) } }).first {
            state.firstAnomaly = AnomalyError(pass: .forward, op: op, inputShapes: inputs.map(\.shape), value: name(v),
                                              what: "input \(i), which was made outside the recorded graph", location: site.location)
        } else if let v = Kernels.firstNonFinite(output) {
            state.firstAnomaly = AnomalyError(pass: .forward, op: op, inputShapes: inputs.map(\.shape), value: name(v),
                                              what: "its output", location: site.location)
        }
    }

    /// After a node's backward rule: checks the gradients it returned, when the gradient it
    /// received was finite.
    static func checkBackward(_ node: GradNode, received: Tensor, returned: [Tensor?]) {
        let state = ThreadState.current
        guard state.detectAnomaly, state.firstAnomaly == nil, Kernels.firstNonFinite(received) == nil else { return }
        for (i, g) in returned.enumerated() {
            guard let g, let v = Kernels.firstNonFinite(g) else { continue }
            state.firstAnomaly = AnomalyError(pass: .backward, op: node.op, inputShapes: node.inputShapes, value: name(v),
                                              what: "the gradient for input \(i)", location: node.callSite?.location)
            return
        }
    }

    static func name(_ v: Double) -> String { v.isNaN ? "NaN" : "infinity" }
}

/// Anomaly detection's checks.
enum Anomaly {}
