import Descent
import XCTest

/// Tests/Fixtures/recurrent.safetensors (Scripts/make_fixtures.py, `recurrent()`): RNN, LSTM
/// and GRU with PyTorch's weights loaded strictly; outputs, final states, and gradients of the
/// input, the initial states and every weight; packed (variable-length) batches; the cells.
final class RecurrentFixtureTests: XCTestCase {
    typealias Runner = (Module, [String: Tensor]) -> [Tensor]

    static func lengths(_ i: [String: Tensor]) -> [Int]? { i["lengths"].map { $0.toArray(Int64.self).map(Int.init) } }

    static let rnn: Runner = { m, i in let r = (m as! RNN)(i["x"]!, i["h0"], lengths: lengths(i)); return [r.output, r.h] }
    static let gru: Runner = { m, i in let r = (m as! GRU)(i["x"]!, i["h0"], lengths: lengths(i)); return [r.output, r.h] }
    static let lstm: Runner = { m, i in
        let state = i["h0"].map { ($0, i["c0"]!) }
        let r = (m as! LSTM)(i["x"]!, state, lengths: lengths(i))
        return [r.output, r.state.h, r.state.c]
    }

    static let layers: [String: (() -> Module, Runner)] = [
        "rnn_tanh": ({ RNN(4, 6) }, rnn),
        "rnn_relu_2l_bi_bf_nobias": ({ RNN(4, 5, numLayers: 2, nonlinearity: .relu, bias: false, batchFirst: true, bidirectional: true) }, rnn),
        "lstm": ({ LSTM(4, 6) }, lstm),
        "lstm_states": ({ LSTM(4, 6) }, lstm),
        "lstm_2l_bi": ({ LSTM(4, 5, numLayers: 2, bidirectional: true) }, lstm),
        "lstm_bf_nobias": ({ LSTM(3, 4, bias: false, batchFirst: true) }, lstm),
        "gru": ({ GRU(4, 6) }, gru),
        "gru_2l_bi_bf": ({ GRU(4, 5, numLayers: 2, batchFirst: true, bidirectional: true) }, gru),
        "gru_nobias": ({ GRU(3, 4, bias: false) }, gru),
        "unbatched_gru": ({ GRU(4, 3) }, gru),
        "lstm_lengths_bi": ({ LSTM(4, 5, bidirectional: true) }, lstm),
        "gru_lengths_2l_bf": ({ GRU(4, 5, numLayers: 2, batchFirst: true) }, gru),
        "rnn_lengths_bi": ({ RNN(4, 5, bidirectional: true) }, rnn),
    ]

    func testLayersMatchPyTorch() throws {
        let file = try Fixtures.load("recurrent.safetensors")
        let cells = Set(ModuleFixture.all(in: file).keys)
        let cases = FixtureCase.all(in: file).filter { !cells.contains($0.key) }
        assertSameCases(fixture: Set(cases.keys), swift: Set(Self.layers.keys))
        for name in cases.keys.sorted() {
            let c = cases[name]!
            guard let (make, run) = Self.layers[name] else { XCTFail("no Swift counterpart for \(name)"); continue }
            let module = make()
            XCTAssertEqual(Set(module.stateDict().keys), Set(c.state.keys), "\(name): parameter names")
            do { try module.loadStateDict(c.state) } catch { XCTFail("\(name): \(error)"); continue }
            let inputs = Dictionary(uniqueKeysWithValues: c.inputs.map { k, t -> (String, Tensor) in
                (k, t.dtype.isFloatingPoint ? t.clone().requiringGrad() : t)
            })
            let outs = run(module, inputs)
            XCTAssertEqual(outs.count, c.outputs.count, name)
            for (i, (o, e)) in zip(outs, c.outputs).enumerated() {
                assertClose(o, e, rtol: 1e-5, atol: 1e-5, "\(name) [\(c.call)] output \(i)")
            }
            var total: Tensor?
            for (i, g) in c.upstream { let term = (outs[i] * g).sum(); total = total.map { $0 + term } ?? term }
            total?.backward()
            for (k, e) in c.grads { assertClose(inputs[k]!.grad ?? Tensor.zeros(like: e), e, rtol: 1e-4, atol: 1e-5, "\(name) grad of \(k)") }
            let params = Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.name, $0.tensor) })
            for (k, e) in c.paramGrads { assertClose(params[k]!.grad ?? Tensor.zeros(like: e), e, rtol: 1e-4, atol: 1e-5, "\(name) grad of \(k)") }
        }
    }

    final class CellStep: Module {
        let cell: Module, state: [Tensor]
        init(_ cell: Module, _ state: [Tensor]) {
            self.cell = cell; self.state = state
            super.init()
            registerModule("m", cell)
        }
        override func forward(_ x: Tensor) -> Tensor {
            if let lstm = cell as? LSTMCell {
                let (h, c) = lstm(x, (state[0], state[1]))
                return Tensor.cat([h, c], dim: 1)
            }
            return (cell as! GRUCell)(x, state[0])
        }
    }

    func testCellsMatchPyTorch() throws {
        let file = try Fixtures.load("recurrent.safetensors")
        let fixtures = ModuleFixture.all(in: file)
        let states = FixtureCase.all(in: file)
        fixtures["rnn_cell"]!.check(RNNCell(4, 5))
        let lstmState = [states["lstm_cell"]!.inputs["state0"]!, states["lstm_cell"]!.inputs["state1"]!]
        fixtures["lstm_cell"]!.check(CellStep(LSTMCell(4, 5), lstmState))
        fixtures["gru_cell"]!.check(CellStep(GRUCell(4, 5), [states["gru_cell"]!.inputs["state0"]!]))
    }
}
