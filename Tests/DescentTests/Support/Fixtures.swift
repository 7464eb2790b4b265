import Descent
import Foundation
import XCTest

/// The committed PyTorch fixtures (Tests/Fixtures), read with Descent's own safetensors reader.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func load(_ name: String) throws -> SafeTensors { try SafeTensors.load(from: path(name)) }
}

/// One fixture case: inputs, outputs, upstream gradients and input gradients from PyTorch.
struct FixtureCase {
    let name: String
    let call: String
    let inputs: [String: Tensor]
    let outputs: [Tensor]
    let upstream: [Int: Tensor]
    let grads: [String: Tensor]
    /// A module's state dict (layer cases), and the gradients of its parameters.
    let state: StateDict
    let paramGrads: [String: Tensor]

    /// All cases of a fixture file, by name.
    static func all(in file: SafeTensors) -> [String: FixtureCase] {
        var groups: [String: [String: Tensor]] = [:]
        for (key, t) in file.tensors {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            groups[parts[0], default: [:]][parts[1]] = t
        }
        var out: [String: FixtureCase] = [:]
        for (name, items) in groups {
            func pick(_ prefix: String) -> [String: Tensor] {
                Dictionary(uniqueKeysWithValues: items.filter { $0.key.hasPrefix(prefix + "/") }
                    .map { (String($0.key.dropFirst(prefix.count + 1)), $0.value) })
            }
            let outs = pick("out")
            out[name] = FixtureCase(
                name: name, call: file.metadata[name] ?? "?",
                inputs: pick("in"),
                outputs: (0..<outs.count).map { outs[String($0)]! },
                upstream: Dictionary(uniqueKeysWithValues: pick("gout").map { (Int($0.key)!, $0.value) }),
                grads: pick("grad"),
                state: StateDict(pick("state").sorted { $0.key < $1.key }.map { (key: $0.key, tensor: $0.value) }),
                paramGrads: pick("pgrad"))
        }
        return out
    }
}

/// Asserts two tensors have the same shape and dtype and values within `atol + rtol·|expected|`
/// (NaN matches NaN, infinities must match exactly).
func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 _ what: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "shape of \(what())", file: file, line: line)
    XCTAssertEqual(actual.dtype, expected.dtype, "dtype of \(what())", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let a = actual.toArray(Double.self), e = expected.toArray(Double.self)
    var worst = 0.0, worstIndex = -1
    for i in 0..<a.count {
        if a[i].isNaN && e[i].isNaN { continue }
        if a[i].isInfinite || e[i].isInfinite {
            if a[i] != e[i] { worst = .infinity; worstIndex = i }
            continue
        }
        let excess = Swift.abs(a[i] - e[i]) - (atol + rtol * Swift.abs(e[i]))
        if excess > worst || a[i].isNaN != e[i].isNaN { worst = Swift.max(excess, 1); worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(what()): element \(worstIndex) is \(a[worstIndex]), expected \(e[worstIndex])", file: file, line: line)
    }
}

/// Runs every case with its Swift counterpart in `ops` (a missing counterpart fails), comparing
/// outputs and the input gradients for PyTorch's upstream gradients.
func runFunctionCases(_ cases: [String: FixtureCase], _ ops: [String: ([String: Tensor]) -> [Tensor]],
                      tolerance: [String: (rtol: Double, atol: Double)], file: StaticString = #filePath, line: UInt = #line) {
    assertSameCases(fixture: Set(cases.keys), swift: Set(ops.keys), file: file, line: line)
    for name in cases.keys.sorted() {
        let c = cases[name]!
        guard let op = ops[name] else {
            XCTFail("fixture case \(name) (\(c.call)) has no Swift counterpart", file: file, line: line)
            continue
        }
        let (rtol, atol) = tolerance[name] ?? (1e-5, 1e-6)
        let inputs = Dictionary(uniqueKeysWithValues: c.inputs.map { k, t -> (String, Tensor) in
            let copy = t.clone()
            if t.dtype.isFloatingPoint && c.grads[k] != nil { copy.requiresGrad = true }
            return (k, copy)
        })
        let outs = op(inputs)
        XCTAssertEqual(outs.count, c.outputs.count, "\(name): number of outputs", file: file, line: line)
        for (i, (o, e)) in zip(outs, c.outputs).enumerated() {
            assertClose(o, e, rtol: rtol, atol: atol, "\(name) [\(c.call)] output \(i)", file: file, line: line)
        }
        var total: Tensor?
        for (i, g) in c.upstream where i < outs.count && outs[i].requiresGrad {
            let term = (outs[i] * g).sum()
            total = total.map { $0 + term } ?? term
        }
        if let total { total.backward() }
        for (k, expected) in c.grads {
            let grad = inputs[k]!.grad ?? Tensor.zeros(like: inputs[k]!)
            assertClose(grad, expected, rtol: rtol, atol: atol, "\(name) [\(c.call)] grad of \(k)", file: file, line: line)
        }
    }
}

/// Asserts that `gradcheck` (float64 central differences) passes for `f` at `inputs`.
func assertGradcheck(_ name: String, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                     _ f: @escaping ([Tensor]) -> Tensor) {
    let r = gradcheck(inputs, f)
    XCTAssertTrue(r.passed, "\(name): \(r)", file: file, line: line)
}

/// Fails for a case that exists on one side only: a fixture case with no Swift counterpart
/// (never checked), or a Swift case with no fixture (it would never run).
func assertSameCases(fixture: Set<String>, swift: Set<String>, file: StaticString = #filePath, line: UInt = #line) {
    for name in fixture.subtracting(swift).sorted() { XCTFail("fixture case \(name) has no Swift counterpart", file: file, line: line) }
    for name in swift.subtracting(fixture).sorted() { XCTFail("Swift case \(name) has no fixture case", file: file, line: line) }
}
