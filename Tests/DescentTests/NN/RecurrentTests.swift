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

    func testMemoryKeptForBackwardGrowsLinearlyWithLength() {
        func keptBytes(_ steps: Int) -> Int {
            Descent.manualSeed(1)
            let lstm = LSTM(32, 64)
            let x = Tensor.randn([steps, 32, 32]).requiringGrad()
            let before = BufferCache.liveLargeBytes
            let (out, _) = lstm(x)
            let kept = BufferCache.liveLargeBytes - before
            withExtendedLifetime(out) {}
            return kept
        }
        let short = keptBytes(200), long = keptBytes(400)
        XCTAssertGreaterThan(short, 0)
        XCTAssertEqual(Double(long) / Double(short), 2, accuracy: 0.3, "kept \(short) bytes for 200 steps, \(long) for 400")
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

final class RecurrentSequencePrimitiveTests: XCTestCase {
    /// The sequence primitive against the step-by-step composite for every cell,
    /// both directions, with and without variable lengths: outputs, states and all gradients.
    func testPrimitiveMatchesStepByStepComposite() {
        Descent.manualSeed(21)
        let makers: [() -> RecurrentLayer] = [
            { LSTM(3, 4, bidirectional: true) }, { GRU(3, 4, numLayers: 2, bidirectional: true) },
            { RNN(3, 4, nonlinearity: .tanh, bidirectional: true) }, { RNN(3, 4, nonlinearity: .relu) },
        ]
        for make in makers {
            for lengths in [nil, [6, 3, 5]] as [[Int]?] {
                let a = make(), b = make()
                try! b.loadStateDict(a.stateDict())
                b.useReference = true
                let x = Tensor.randn([6, 3, 3])
                let xa = x.clone().requiringGrad(), xb = x.clone().requiringGrad()
                let d = a.directions * a.numLayers
                let h0 = Tensor.randn([d, 3, 4]), c0 = Tensor.randn([d, 3, 4])
                let ha = h0.clone().requiringGrad(), hb = h0.clone().requiringGrad()
                let isLSTM = a is LSTM
                let (oa, hna, cna) = a.run(xa, h0: ha, c0: isLSTM ? c0 : nil, lengths: lengths)
                let (ob, hnb, cnb) = b.run(xb, h0: hb, c0: isLSTM ? c0 : nil, lengths: lengths)
                let name = "\(a.typeName) lengths \(String(describing: lengths))"
                assertClose(oa, ob, rtol: 1e-5, atol: 1e-6, "\(name) output")
                assertClose(hna, hnb, rtol: 1e-5, atol: 1e-6, "\(name) h")
                if let cna, let cnb { assertClose(cna, cnb, rtol: 1e-5, atol: 1e-6, "\(name) c") }
                let go = Tensor.randn(oa.shape), gh = Tensor.randn(hna.shape)
                ((oa * go).sum() + (hna * gh).sum() + (cna.map { $0.sum() } ?? Tensor(Float(0)))).backward()
                ((ob * go).sum() + (hnb * gh).sum() + (cnb.map { $0.sum() } ?? Tensor(Float(0)))).backward()
                assertClose(xa.grad!, xb.grad!, rtol: 1e-4, atol: 1e-5, "\(name) dx")
                assertClose(ha.grad!, hb.grad!, rtol: 1e-4, atol: 1e-5, "\(name) dh0")
                for ((n, pa), (_, pb)) in zip(a.namedParameters(), b.namedParameters()) {
                    assertClose(pa.grad!, pb.grad!, rtol: 1e-4, atol: 1e-5, "\(name) grad of \(n)")
                }
            }
        }
    }

    /// The float32 LSTM and GRU sequence kernels (lstm_sequence.c, gru_sequence.c) split their
    /// work among threads by batch rows (blocks of 8) where the batch has a block per thread, else
    /// by hidden units in 32-wide panels. On 2 threads a batch of 5 splits by units (a hidden size
    /// of 70 gives two parts, the second with a partial panel), a batch of 21 by rows (8 and 13
    /// rows, the last block partial); on 1 thread both run as one part. Against the step-by-step
    /// composite, in both directions, with variable lengths, with and without bias, with frozen
    /// biases (the fused loops add the input-side bias and sum its gradient themselves); on
    /// AVX-512 and on AVX2 (a batch of 5: one 6-row tile with a missing row). With the portable
    /// GEMM the general float32 path runs instead (the one other CPUs take), against the same
    /// oracle.
    func testFusedSequenceKernelsAcrossThreadsAndPartialPanels() {
        Descent.manualSeed(23)
        let saved = Descent.threads, savedBackend = MatmulBackend.current
        defer { Descent.threads = saved; MatmulBackend.current = savedBackend }
        // Every x86-64 CPU this runs on has AVX2 or AVX-512: the fused kernels run unless asked off.
        XCTAssertEqual(Kernels.fusedSequenceApplies(Tensor.zeros([1])), MatmulBackend.current != .portable)
        let makers: [(String, () -> RecurrentLayer)] = [
            ("LSTM", { LSTM(6, 70, bidirectional: true) }), ("LSTM no bias", { LSTM(6, 70, bias: false) }),
            ("GRU", { GRU(6, 70, bidirectional: true) }), ("GRU no bias", { GRU(6, 70, bias: false) }),
            ("LSTM frozen biases", { Self.freezing("bias", of: LSTM(6, 70)) }),
            ("GRU frozen b_ih", { Self.freezing("bias_ih", of: GRU(6, 70)) }),
            ("GRU frozen b_hh", { Self.freezing("bias_hh", of: GRU(6, 70)) }),
        ]
        for (threads, backend) in [(1, MatmulBackend.automatic), (2, .automatic), (2, .portable)] {
            Descent.threads = threads
            MatmulBackend.current = backend
            for (kind, make) in makers {
                for batch in [5, 21] {
                    let a = make(), b = make()
                    try! b.loadStateDict(a.stateDict())
                    b.useReference = true
                    let isLSTM = a is LSTM, d = a.directions
                    let x = Tensor.randn([7, batch, 6])
                    let xa = x.clone().requiringGrad(), xb = x.clone().requiringGrad()
                    let h0 = Tensor.randn([d, batch, 70]), c0 = Tensor.randn([d, batch, 70])
                    let ha = h0.clone().requiringGrad(), hb = h0.clone().requiringGrad()
                    let ca = c0.clone().requiringGrad(), cb = c0.clone().requiringGrad()
                    let lengths = (0..<batch).map { [7, 2, 5, 1, 7][$0 % 5] }
                    let (oa, hna, cna) = a.run(xa, h0: ha, c0: isLSTM ? ca : nil, lengths: lengths)
                    let (ob, hnb, cnb) = b.run(xb, h0: hb, c0: isLSTM ? cb : nil, lengths: lengths)
                    let name = "\(kind), batch \(batch), threads \(threads), \(backend)"
                    assertClose(oa, ob, rtol: 1e-5, atol: 1e-6, "\(name) output")
                    assertClose(hna, hnb, rtol: 1e-5, atol: 1e-6, "\(name) h")
                    if isLSTM { assertClose(cna!, cnb!, rtol: 1e-5, atol: 1e-6, "\(name) c") }
                    let go = Tensor.randn(oa.shape), gh = Tensor.randn(hna.shape)
                    ((oa * go).sum() + (hna * gh).sum() + (cna.map { ($0 * 2).sum() } ?? Tensor(Float(0)))).backward()
                    ((ob * go).sum() + (hnb * gh).sum() + (cnb.map { ($0 * 2).sum() } ?? Tensor(Float(0)))).backward()
                    assertClose(xa.grad!, xb.grad!, rtol: 1e-4, atol: 1e-5, "\(name) dx")
                    assertClose(ha.grad!, hb.grad!, rtol: 1e-4, atol: 1e-5, "\(name) dh0")
                    if isLSTM { assertClose(ca.grad!, cb.grad!, rtol: 1e-4, atol: 1e-5, "\(name) dc0") }
                    for ((n, pa), (_, pb)) in zip(a.namedParameters(), b.namedParameters()) {
                        XCTAssertEqual(pa.grad == nil, !pa.requiresGrad, "\(name) grad of \(n)")
                        if let ga = pa.grad { assertClose(ga, pb.grad!, rtol: 1e-4, atol: 1e-5, "\(name) grad of \(n)") }
                    }
                }
            }
        }
    }

    /// `layer` with the parameters whose names start with `prefix` frozen (no gradient).
    static func freezing(_ prefix: String, of layer: RecurrentLayer) -> RecurrentLayer {
        for (name, p) in layer.namedParameters() where name.hasPrefix(prefix) { p.requiresGrad = false }
        return layer
    }

    func testGradcheckOfTheSequencePrimitive() {
        Descent.manualSeed(22)
        let masks = (0..<4).map { t in Tensor(shape: [2, 1], scalars: [1.0, t < 2 ? 1 : 0]) }
        for kind in [RecurrentCellKind.lstm, .gru, .rnnTanh] {
            let g = kind == .lstm ? 8 : (kind == .gru ? 6 : 2)
            let inputs = [Tensor.randn([4, 2, g], dtype: .float64), Tensor.randn([2, 2], dtype: .float64),
                          Tensor.randn([g, 2], dtype: .float64) * 0.5, Tensor.randn([2, 2], dtype: .float64), Tensor.randn([g], dtype: .float64)]
            for reverse in [false, true] {
                assertGradcheck("\(kind) reverse \(reverse)", inputs) { i in
                    let (o, h, c) = Tensor.recurrentSequence(kind, proj: i[0], h0: i[1], c0: kind == .lstm ? i[3] : nil, whh: i[2],
                                                             bhh: kind == .gru ? i[4] : nil, masks: masks, reverse: reverse)
                    return o.sum() + (h * 2).sum() + (c.map { ($0 * 3).sum() } ?? Tensor(0.0))
                }
            }
        }
    }
}
