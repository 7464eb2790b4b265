@testable import Descent
import XCTest

/// `withAutocast(.bfloat16)` against PyTorch's `torch.autocast("cpu", dtype=torch.bfloat16)`
/// (Tests/Fixtures/autocast.safetensors, `autocast()` in Scripts/make_fixtures.py).
final class AutocastTests: XCTestCase {
    /// A layer whose product is `x @ b` (the fixture's `MatmulParam`).
    final class MatmulParam: Module {
        let b = Tensor.zeros([40, 24]).requiringGrad()
        override func forward(_ x: Tensor) -> Tensor { x.matmul(b) }
    }

    struct Errors {
        /// max |actual − expected| / max |expected|.
        var relative: Double
        /// The share of elements equal to PyTorch's to the last bit.
        var equalShare: Double

        init(_ actual: Tensor, _ expected: Tensor) {
            let a = actual.toArray(Double.self), e = expected.toArray(Double.self)
            let scale = e.map(abs).max() ?? 1
            relative = zip(a, e).map { abs($0 - $1) }.max()! / scale
            equalShare = Double(zip(a, e).filter { $0 == $1 }.count) / Double(a.count)
        }
    }

    /// Runs the case under autocast, backward from PyTorch's upstream gradients, and checks every
    /// output and gradient within `tolerance` (relative to the largest value) of PyTorch's.
    /// Parameter gradients are compared relative to the largest of them (a bias before
    /// BatchNorm has a gradient that is zero but for rounding). With `closer`, outputs must also
    /// be that many times nearer PyTorch's autocast result than the float32 result is; with
    /// `rounded`, every output value must be a bfloat16 value (autocast rounds its results); with
    /// `equal`, at least that share of the output values must be PyTorch's to the bit. A run
    /// without the bfloat16 roundings fails all three.
    func check(_ name: String, _ module: Module, tolerance: Double, closer: Double? = 4, rounded: Bool = true, equal: Double? = nil,
               outputs: (Module, Tensor) -> [Tensor] = { [$0($1)] }, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try Fixtures.load("autocast.safetensors")
        func get(_ key: String) -> Tensor? { fixture["\(name)/\(key)"] }
        let state = fixture.tensors.filter { $0.name.hasPrefix("\(name)/state/") }
            .map { (key: String($0.name.dropFirst("\(name)/state/".count)), tensor: $0.tensor) }
        try module.loadStateDict(StateDict(state))
        let x = get("in/x")!.clone().requiringGrad()
        let ys = withAutocast(.bfloat16) { outputs(module, x) }
        XCTAssertFalse(isAutocastEnabled)
        var loss: Tensor?
        for (i, y) in ys.enumerated() {
            let expected = get("out/\(i)")!, float32 = get("ref32/out/\(i)")!
            XCTAssertEqual(y.dtype, .float32, "\(name) output \(i) dtype", file: file, line: line)
            let mine = Errors(y, expected), plain = Errors(float32, expected)
            XCTAssertLessThanOrEqual(mine.relative, tolerance, "\(name) output \(i)", file: file, line: line)
            if let closer {
                XCTAssertLessThanOrEqual(mine.relative * closer, plain.relative,
                                         "\(name) output \(i): \(mine.relative) from PyTorch's autocast, float32 is \(plain.relative)", file: file, line: line)
            }
            if let equal {
                XCTAssertGreaterThanOrEqual(mine.equalShare, equal, "\(name) output \(i): values equal to PyTorch's", file: file, line: line)
            }
            if rounded {
                XCTAssertEqual(y.scalars, y.scalars.map(BFloat16.round), "\(name) output \(i) holds bfloat16 values", file: file, line: line)
            }
            let term = (y * get("gout/\(i)")!).sum()
            loss = loss.map { $0 + term } ?? term
        }
        module.zeroGrad()
        loss!.backward()
        let gx = Errors(x.grad!, get("grad/x")!)
        XCTAssertLessThanOrEqual(gx.relative, tolerance, "\(name) grad of x", file: file, line: line)
        let params = module.namedParameters()
        let scale = params.map { get("pgrad/\($0.name)")!.abs().max().itemDouble }.max()!
        for (key, p) in params {
            let expected = get("pgrad/\(key)")!
            let error = (p.grad! - expected).abs().max().itemDouble / scale
            XCTAssertLessThanOrEqual(error, tolerance, "\(name) grad of \(key)", file: file, line: line)
        }
    }

    func testLinearAndMatmul() throws {
        try check("linear", Linear(48, 24), tolerance: 4e-3)
        try check("linear_3d", Linear(32, 12), tolerance: 4e-3)
        try check("matmul", MatmulParam(), tolerance: 4e-3)
    }

    func testConvolutions() throws {
        try check("conv2d", Conv2d(3, 8, kernelSize: 3, stride: 2, padding: 1), tolerance: 8e-3)
        try check("conv1d", Conv1d(4, 6, kernelSize: 3, padding: 1), tolerance: 8e-3)
        // By Winograd's F(4×4, 3×3) on AVX512-BF16 CPUs (forward and input gradient), whose
        // float32 transforms move a sum by about 10⁻⁶ of its terms' magnitudes: 99.9% of the
        // outputs are PyTorch's to the bit (the direct sums', 99.98%), the others a bfloat16 unit
        // apart, which can be one at a large value (0.0030–0.0032 of the largest, the direct
        // sums' up to 0.0032, float32 results 0.0035–0.0036), so the share of equal values is
        // checked instead of `closer`.
        try check("conv2d_3x3_rows", Conv2d(32, 48, kernelSize: 3, padding: 1), tolerance: 8e-3, closer: nil, equal: 0.99)
        try check("conv2d_3x3_pad2", Conv2d(48, 32, kernelSize: 3, padding: 2), tolerance: 8e-3, closer: nil, equal: 0.99)
        // PyTorch's bf16 transposed convolution on this CPU sums its column buffer into a
        // bfloat16 output (a rounding per overlapping tap), so it is not much nearer to its own
        // recipe than float32 is: compared within tolerance only.
        try check("conv_transpose2d", ConvTranspose2d(6, 4, kernelSize: 4, stride: 2, padding: 1), tolerance: 1e-2, closer: nil)
    }

    func testRecurrentLayers() throws {
        // Recurrent outputs come from float32 gate arithmetic (not rounded); PyTorch's own
        // autocast RNN rounds its state to bfloat16 every step, which Descent does not.
        try check("rnn", RNN(8, 16, batchFirst: true), tolerance: 1e-2, closer: nil, rounded: false) { m, x in
            let (o, h) = (m as! RNN)(x)
            return [o, h]
        }
        try check("lstm", LSTM(8, 16, batchFirst: true), tolerance: 1e-2, rounded: false) { m, x in
            let (o, s) = (m as! LSTM)(x)
            return [o, s.h, s.c]
        }
        try check("gru", GRU(8, 16, batchFirst: true), tolerance: 1e-2, rounded: false) { m, x in
            let (o, h) = (m as! GRU)(x)
            return [o, h]
        }
    }

    func testCNNWithBatchNorm() throws {
        // BatchNorm, activations and pooling run in float32 here and in bfloat16 in PyTorch.
        try check("cnn", ModuleTests.cnn(), tolerance: 2e-2, closer: nil)
    }
}

/// What autocast changes and what it leaves alone, and training under it.
final class AutocastBehaviourTests: XCTestCase {
    /// A weight used twice in one region is rounded to bfloat16 once, as PyTorch's autocast cache
    /// does: the uses' gradients (1 and 1 + 2⁻⁷) are summed and rounded together (to 2, as
    /// PyTorch gives: `shared_weight` in autocast.safetensors); rounded per use they would give
    /// 2 + 2⁻⁷. A new region makes a new copy: the weight changed between regions is seen; nested
    /// blocks reuse the outermost block's copies.
    func testAWeightIsRoundedOncePerRegion() throws {
        let fixture = try Fixtures.load("autocast.safetensors")
        let xs = try XCTUnwrap(fixture["shared_weight/x"]), expected = try XCTUnwrap(fixture["shared_weight/weight_grad"])
        let fc = Linear(1, 1, bias: false)
        withNoGrad { fc.weight.fill(1) }
        let y = withAutocast { fc(xs.narrow(dim: 0, start: 0, length: 1)) + fc(xs.narrow(dim: 0, start: 1, length: 1)) }
        y.sum().backward()
        XCTAssertEqual(fc.weight.grad!.scalars, expected.scalars)
        withNoGrad { fc.weight.fill(3) }
        XCTAssertEqual(withAutocast { fc(xs.narrow(dim: 0, start: 0, length: 1)) }.scalars, [3])
        // Nested blocks share the outermost one's copies (a block turned off and on again inside
        // it included), as PyTorch's cache lives until its outermost autocast context ends.
        withAutocast {
            let before = fc(xs.narrow(dim: 0, start: 0, length: 1))
            withNoGrad { fc.weight.fill(5) }
            withAutocast(enabled: false) { withAutocast { _ = fc(xs.narrow(dim: 0, start: 0, length: 1)) } }
            XCTAssertEqual(fc(xs.narrow(dim: 0, start: 0, length: 1)).scalars, before.scalars, "the region's copy")
        }
        XCTAssertEqual(withAutocast { fc(xs.narrow(dim: 0, start: 0, length: 1)) }.scalars, [5], "a new region's copy")
    }

    /// 1 + 2⁻¹⁰ is not a bfloat16 (7 mantissa bits): under autocast it is multiplied as 1.
    func testProductsRoundTheirOperandsAndResult() {
        let a = Tensor([[1 + 0x1p-10, 3]]), b = Tensor([[1], [0x1p-12]])
        XCTAssertEqual(a.matmul(b).scalars, [Float(1 + 0x1p-10) + 3 * 0x1p-12])
        let y = withAutocast { a.matmul(b) }
        // 1 + 3·2⁻¹² summed in float32, then rounded to bfloat16 (8 significant bits): 1.
        XCTAssertEqual(y.scalars, [1])
        XCTAssertEqual(withAutocast { linear(Tensor([[1 + 0x1p-9]]), weight: Tensor([[1.0]]), bias: Tensor([0x1p-9])) }.scalars, [1])
        // Not a product: unchanged.
        XCTAssertEqual(withAutocast { a + 0 }.scalars, a.scalars)
        // float64 operands are left alone (PyTorch casts only float32 under CPU autocast).
        XCTAssertEqual(withAutocast { a.double().matmul(b.double()) }.toArray(Double.self), [1 + 0x1p-10 + 3 * 0x1p-12])
    }

    func testScopeIsNestedPerThreadAndOffDuringBackward() {
        XCTAssertFalse(isAutocastEnabled)
        withAutocast {
            XCTAssertTrue(isAutocastEnabled)
            withAutocast(enabled: false) { XCTAssertFalse(isAutocastEnabled) }
            XCTAssertTrue(isAutocastEnabled)
            final class Seen: @unchecked Sendable { var enabled = true }
            let other = Seen()
            let t = Thread { other.enabled = isAutocastEnabled }
            t.start()
            while !t.isFinished { usleep(1000) }
            XCTAssertFalse(other.enabled, "another thread's setting")
        }
        XCTAssertFalse(isAutocastEnabled)
        // Gradients are rounded to bfloat16 on their way back through the product, as PyTorch's
        // bf16 gradients are, even when backward() is called inside the block.
        let w = Tensor([[1.0]]).requiringGrad()
        withAutocast {
            let y = Tensor([[1.0]]).matmul(w)
            y.backward(Tensor([[1 + 0x1p-10]]))
        }
        XCTAssertEqual(w.grad!.scalars, [1])
    }

    func testBFloat16TensorsMultiplyInFloat32AndRound() {
        let a = Tensor([[1, 0x1p-9]]).to(.bfloat16), b = Tensor([[1], [1]]).to(.bfloat16)
        let y = a.matmul(b)
        XCTAssertEqual(y.dtype, .bfloat16)
        XCTAssertEqual(y.float().scalars, [1])  // 1 + 2⁻⁹ rounds to even: 1
        XCTAssertEqual((a + a).dtype, .bfloat16)
        XCTAssertEqual((a + a).float().scalars, [2, 0x1p-8])
    }

    /// The digits CNN of `descent train --model cnn` trains to the same accuracy with autocast.
    func testDigitsCNNTrainsToTheSameAccuracy() throws {
        let digits = try Digits.load()
        func train(autocast: Bool) -> Float {
            Descent.manualSeed(3)
            let model = Sequential {
                Conv2d(1, 16, kernelSize: 3, padding: 1); ReLU(); MaxPool2d(2)
                Conv2d(16, 32, kernelSize: 3, padding: 1); ReLU(); MaxPool2d(2)
                Flatten(); Linear(32 * 2 * 2, 10)
            }
            let optimizer = Adam(model.parameters(), lr: 3e-3)
            let loader = DataLoader(digits.train, batchSize: 64, shuffle: true)
            for _ in 0..<4 {
                for batch in loader {
                    let loss = withAutocast(enabled: autocast) { crossEntropy(model(batch.inputs), batch.targets) }
                    optimizer.zeroGrad()
                    loss.backward()
                    optimizer.step()
                }
            }
            return withNoGrad { model(digits.test.images).argmax(dim: 1).eq(digits.test.labels).float().mean().item }
        }
        let plain = train(autocast: false), bf16 = train(autocast: true)
        XCTAssertGreaterThan(plain, 0.9)
        XCTAssertGreaterThan(bf16, 0.9)
        XCTAssertLessThanOrEqual(abs(plain - bf16), 0.03, "float32 \(plain), autocast \(bf16)")
    }
}
