@testable import Descent
import XCTest

final class RecurrentTests: XCTestCase {
    func testBackpropagationThrough1000StepsIsIterativeAndLinear() {
        Descent.manualSeed(1)
        let lstm = LSTM(8, 16)
        let x = Tensor.randn([1000, 2, 8]).requiringGrad()
        let (out, state) = lstm(x)
        (out.sum() + state.c.sum()).backward()
        XCTAssertEqual(x.grad!.shape, [1000, 2, 8])
        XCTAssertTrue(x.grad!.abs().sum().itemDouble.isFinite)
        XCTAssertTrue(lstm.weights[0][0].hh.grad!.abs().sum().itemDouble > 0)
        // The graph was freed as backward went: the output's node holds nothing any more.
        XCTAssertTrue(out.gradNode!.released)
    }

    func testTruncatedBPTTByDetachingTheState() {
        Descent.manualSeed(2)
        let gru = GRU(3, 4)
        var h: Tensor? = nil
        for _ in 0..<3 {
            let chunk = Tensor.randn([10, 2, 3])
            let (out, hN) = gru(chunk, h)
            out.sum().backward()
            // The next chunk starts from the state as a constant: no graph reaches back.
            h = hN.detach()
            XCTAssertNil(h!.gradNode)
        }
        XCTAssertNotNil(gru.parameters()[0].grad)
    }

    func testPaddingNeverChangesStatesOrValidOutputs() {
        // The same sequence alone and padded with garbage inside a longer batch.
        Descent.manualSeed(3)
        for layer in [LSTM(3, 4, bidirectional: true) as RecurrentLayer, GRU(3, 4, numLayers: 2, bidirectional: true), RNN(3, 4, bidirectional: true)] {
            let short = Tensor.randn([3, 1, 3])
            let padded = Tensor.cat([short, Tensor.randn([4, 1, 3]) * 100], dim: 0)
            let batch = Tensor.cat([padded, Tensor.randn([7, 1, 3])], dim: 1)
            let (alone, hAlone, _) = layer.run(short, h0: nil, c0: nil, lengths: nil)
            let (mixed, hMixed, _) = layer.run(batch, h0: nil, c0: nil, lengths: [3, 7])
            assertClose(mixed.narrow(dim: 0, start: 0, length: 3).narrow(dim: 1, start: 0, length: 1), alone, rtol: 1e-5, atol: 1e-6, "\(layer.typeName) valid outputs")
            assertClose(hMixed.narrow(dim: 1, start: 0, length: 1), hAlone, rtol: 1e-5, atol: 1e-6, "\(layer.typeName) final state")
            XCTAssertEqual(mixed.narrow(dim: 0, start: 3, length: 4).narrow(dim: 1, start: 0, length: 1).abs().sum().item, 0)
        }
    }

    func testShapesAndParameterNames() {
        let lstm = LSTM(5, 7, numLayers: 2, batchFirst: true, bidirectional: true)
        let (out, state) = lstm(Tensor.randn([3, 4, 5]))
        XCTAssertEqual(out.shape, [3, 4, 14])
        XCTAssertEqual(state.h.shape, [4, 3, 7])
        XCTAssertEqual(state.c.shape, [4, 3, 7])
        XCTAssertEqual(lstm.stateDict().keys.prefix(8), ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                                          "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"])
        XCTAssertEqual(lstm.stateDict()["weight_ih_l1"]!.shape, [28, 14])
        XCTAssertEqual(lstm.description, "LSTM(5, 7, num_layers=2, batch_first=True, bidirectional=True)")
        let k = 1 / 7.0.squareRoot()
        XCTAssertLessThanOrEqual(lstm.parameters().map { $0.abs().max().itemDouble }.max()!, k)
    }

    func testDropoutBetweenLayersOnlyInTraining() {
        Descent.manualSeed(4)
        let gru = GRU(3, 4, numLayers: 2, dropout: 0.5)
        let x = Tensor.randn([5, 2, 3])
        gru.eval()
        let a = gru(x).output, b = gru(x).output
        XCTAssertEqual(a.scalars, b.scalars, "no dropout in eval")
        gru.train()
        XCTAssertNotEqual(gru(x).output.scalars, a.scalars, "dropout between layers in training")
    }
}
