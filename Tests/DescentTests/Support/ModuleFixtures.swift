import Descent
import XCTest

/// A layer case of a fixture file (see `Book.module` in Scripts/make_fixtures.py).
struct ModuleFixture {
    let name: String
    let call: String
    let state: StateDict
    let input: Tensor
    let output: Tensor
    let upstream: Tensor?
    let inputGrad: Tensor?
    let paramGrads: [String: Tensor]
    let buffersAfter: [String: Tensor]
    let train: Bool
    let steps: Int

    static func all(in file: SafeTensors) -> [String: ModuleFixture] {
        var groups: [String: [(String, Tensor)]] = [:]
        for (key, t) in file.tensors {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            groups[parts[0], default: []].append((parts[1], t))
        }
        var out: [String: ModuleFixture] = [:]
        for (name, items) in groups where items.contains(where: { $0.0.hasPrefix("config/") }) {
            func pick(_ prefix: String) -> [(String, Tensor)] {
                items.filter { $0.0.hasPrefix(prefix + "/") }.map { (String($0.0.dropFirst(prefix.count + 1)), $0.1) }
            }
            let d = Dictionary(uniqueKeysWithValues: items)
            out[name] = ModuleFixture(
                name: name, call: file.metadata[name] ?? "?",
                state: StateDict(pick("state").map { (key: $0.0, tensor: $0.1) }),
                input: d["in/x"]!, output: d["out/0"]!, upstream: d["gout/0"], inputGrad: d["grad/x"],
                paramGrads: Dictionary(uniqueKeysWithValues: pick("pgrad")),
                buffersAfter: Dictionary(uniqueKeysWithValues: pick("after")),
                train: d["config/train"]!.itemDouble != 0, steps: Int(d["config/steps"]!.itemDouble))
        }
        return out
    }

    /// Loads the PyTorch state into `module` (strictly), runs it as PyTorch did and compares
    /// the output, the input and parameter gradients, and the buffers afterwards.
    func check(_ module: Module, rtol: Double = 1e-5, atol: Double = 1e-5,
               forward: ((Module, Tensor) -> Tensor)? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do { try module.loadStateDict(state) } catch {
            XCTFail("\(name): \(error)", file: file, line: line)
            return
        }
        module.train(train)
        let x = input.clone()
        if x.dtype.isFloatingPoint { x.requiresGrad = true }
        let run = forward ?? { m, x in m(x) }
        for _ in 0..<(steps - 1) { _ = run(module, x) }
        let y = run(module, x)
        assertClose(y, output, rtol: rtol, atol: atol, "\(name) [\(call)] output", file: file, line: line)
        if let upstream {
            module.zeroGrad()
            y.backward(upstream)
            if let inputGrad { assertClose(x.grad ?? Tensor.zeros(like: x), inputGrad, rtol: rtol, atol: atol, "\(name) grad of input", file: file, line: line) }
            let params = Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.name, $0.tensor) })
            XCTAssertEqual(Set(params.keys), Set(paramGrads.keys), "\(name): parameter names", file: file, line: line)
            for (k, g) in paramGrads {
                guard let p = params[k] else { continue }
                assertClose(p.grad ?? Tensor.zeros(like: p), g, rtol: rtol, atol: atol, "\(name) grad of \(k)", file: file, line: line)
            }
        }
        let buffers = Dictionary(uniqueKeysWithValues: module.namedBuffers().map { ($0.name, $0.tensor) })
        for (k, b) in buffersAfter {
            guard let mine = buffers[k] else { XCTFail("\(name): missing buffer \(k)", file: file, line: line); continue }
            assertClose(mine, b, rtol: rtol, atol: atol, "\(name) buffer \(k) after \(steps) step(s)", file: file, line: line)
        }
    }
}
