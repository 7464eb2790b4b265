@testable import Descent
import XCTest

/// Float64 central-difference checks of the backward rule of every differentiable op.
final class GradCheckTests: XCTestCase {
    override func setUp() { Descent.manualSeed(42) }

    private func x(_ shape: Int...) -> Tensor { Tensor.randn(shape, dtype: .float64) }
    /// Values in [0.5, 1.5): away from 0 for log, sqrt, division.
    private func positive(_ shape: Int...) -> Tensor { Tensor.uniform(shape, low: 0.5, high: 1.5, dtype: .float64) }
    /// Values whose magnitudes are at least 0.1 (away from kinks at 0).
    private func awayFromZero(_ shape: Int...) -> Tensor {
        let t = Tensor.randn(shape, dtype: .float64)
        return t + t.sign() * 0.1
    }

    private func check(_ name: String, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                       _ f: @escaping ([Tensor]) -> Tensor) {
        assertGradcheck(name, inputs, file: file, line: line, f)
    }

    func testArithmetic() {
        check("add broadcast", [x(3, 1, 4), x(2, 4)]) { $0[0] + $0[1] }
        check("sub broadcast", [x(2, 3), x(3, 1, 1)]) { $0[0] - $0[1] }
        check("mul broadcast", [x(5, 1), x(1, 6)]) { $0[0] * $0[1] }
        check("div", [x(2, 3), positive(3)]) { $0[0] / $0[1] }
        check("pow tensor", [positive(3, 4), x(4)]) { $0[0].pow($0[1]) }
        check("pow scalar", [x(5)]) { $0[0].pow(3) }
        check("maximum", [x(4, 5), x(5)]) { $0[0].maximum($0[1]) }
        check("minimum", [x(4, 5), x(4, 1)]) { $0[0].minimum($0[1]) }
        check("scalar forms", [positive(4)]) { 2 / $0[0] + (1 - $0[0]) * 3 }
    }

    func testUnary() {
        check("neg", [x(3, 4)]) { $0[0].neg() }
        check("abs", [awayFromZero(3, 4)]) { $0[0].abs() }
        check("exp", [x(3, 4)]) { $0[0].exp() }
        check("log", [positive(3, 4)]) { $0[0].log() }
        check("sqrt", [positive(3, 4)]) { $0[0].sqrt() }
        check("rsqrt", [positive(3, 4)]) { $0[0].rsqrt() }
        check("sin", [x(3, 4)]) { $0[0].sin() }
        check("cos", [x(3, 4)]) { $0[0].cos() }
        check("tanh", [x(3, 4)]) { $0[0].tanh() }
        check("sigmoid", [x(3, 4)]) { $0[0].sigmoid() }
        check("relu", [awayFromZero(3, 4)]) { $0[0].relu() }
        check("clamp", [Tensor(shape: [4], scalars: [-2.0, -0.3, 0.2, 1.7])]) { $0[0].clamp(min: -1, max: 1) }
        check("where", [x(3, 4), x(4)]) { Tensor.where(Tensor(shape: [3, 1], scalars: [1.0, 0, 1]), $0[0], $0[1]) }
    }

    func testReductions() {
        check("sum dims", [x(3, 4, 5)]) { $0[0].sum(dims: [0, 2], keepDim: true) }
        check("mean", [x(3, 4)]) { $0[0].mean(dim: 1) }
        check("variance", [x(3, 6)]) { $0[0].variance(dim: 1) }
        check("std biased", [x(5, 3)]) { $0[0].std(dim: 0, correction: 0) }
        check("max dim", [x(4, 6)]) { $0[0].max(dim: 1).values }
        check("min dim", [x(4, 6)]) { $0[0].min(dim: 0, keepDim: true).values }
        check("amax", [x(3, 4, 5)]) { $0[0].amax(dims: [0, 2]) }
        check("prod", [x(3, 4)]) { $0[0].prod(dim: 1) }
        check("prod with a zero", [Tensor(shape: [2, 3], scalars: [1.0, 0, 3, 0.5, 2, -1])]) { $0[0].prod(dim: 1) }
        check("logsumexp", [x(2, 3, 4)]) { $0[0].logsumexp(dims: [1, 2]) }
    }

    func testMatmul() {
        check("1d·1d", [x(5), x(5)]) { $0[0].matmul($0[1]) }
        check("1d·2d", [x(5), x(5, 3)]) { $0[0].matmul($0[1]) }
        check("2d·1d", [x(4, 5), x(5)]) { $0[0].matmul($0[1]) }
        check("2d·2d", [x(4, 5), x(5, 3)]) { $0[0].matmul($0[1]) }
        check("batched broadcast", [x(2, 1, 4, 5), x(3, 5, 2)]) { $0[0].matmul($0[1]) }
        check("3d·2d", [x(2, 4, 5), x(5, 3)]) { $0[0].matmul($0[1]) }
        check("transposed", [x(5, 4), x(3, 5)]) { $0[0].t.matmul($0[1].t) }
        // linear with a bias: the fused primitive (addmm) on 2-D inputs in any layout and on
        // contiguous 3-D inputs; the product and addition apart for a non-contiguous 3-D input.
        check("linear bias", [x(4, 5), x(3, 5), x(3)]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        check("linear bias 3d", [x(2, 4, 5), x(3, 5), x(3)]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        check("linear bias strided", [x(5, 4), x(3, 5), x(3)]) { linear($0[0].t, weight: $0[1], bias: $0[2]) }
        check("linear bias strided 3d", [x(2, 5, 4), x(3, 5), x(3)]) { linear($0[0].transpose(1, 2), weight: $0[1], bias: $0[2]) }
        check("linear bias last step", [x(2, 3, 5), x(3, 5), x(3)]) { linear($0[0].select(dim: 1, index: 2), weight: $0[1], bias: $0[2]) }
    }

    func testViewsAndJoins() {
        check("permute", [x(2, 3, 4)]) { $0[0].permute(2, 0, 1) * Tensor.arange(0, 24, dtype: .float64).reshape(4, 2, 3) }
        check("reshape non-contiguous", [x(3, 4)]) { $0[0].t.reshape(-1) * Tensor.arange(0, 12, dtype: .float64) }
        check("expand", [x(3, 1)]) { $0[0].expand(3, 4) * Tensor.arange(0, 12, dtype: .float64).reshape(3, 4) }
        check("narrow", [x(3, 4)]) { $0[0].narrow(dim: 1, start: 1, length: 2).exp() }
        check("select", [x(3, 4)]) { $0[0][1] * 3 }
        check("squeeze/unsqueeze", [x(3, 1, 4)]) { $0[0].squeeze(dim: 1).unsqueeze(0).sin() }
        check("cat", [x(2, 3), x(2, 2)]) { Tensor.cat([$0[0], $0[1]], dim: 1).sin() }
        check("stack", [x(2, 3), x(2, 3)]) { Tensor.stack([$0[0], $0[1]], dim: 1).sin() }
        check("split", [x(2, 4)]) { $0[0].split(sizes: [1, 3], dim: 1)[1].exp() }
        check("chunk", [x(5, 2)]) { $0[0].chunk(3)[2].exp() }
        check("pad", [x(2, 3, 4)]) { $0[0].pad([1, 2, 0, 1], value: 0.5).sin() }
        check("pad negative", [x(2, 4)]) { $0[0].pad([-1, 1]).sin() }
        check("contiguous", [x(3, 4)]) { $0[0].t.contiguous().sin() }
    }

    func testIndexing() {
        let idx = Tensor(shape: [3], scalars: [2, 0, 2] as [Int64])
        let gidx = Tensor(shape: [2, 3], scalars: [0, 2, 2, 1, 1, 0] as [Int64])
        check("indexSelect", [x(4, 3)]) { $0[0].indexSelect(dim: 0, index: idx).sin() }
        check("gather", [x(2, 4)]) { $0[0].gather(dim: 1, index: gidx).sin() }
        check("scatterAdd", [x(2, 4), x(2, 3)]) { $0[0].scatterAdd(dim: 1, index: gidx, source: $0[1]).sin() }
    }

    func testGradcheckCatchesAWrongRule() {
        // A function whose recorded gradient is wrong (detach hides a factor) must fail the check.
        let r = gradcheck([x(3)]) { $0[0] * $0[0].detach() }
        XCTAssertFalse(r.passed)
    }
}

/// Float64 gradient checks of the layer primitives (convolution, pooling, upsampling, BCE) and
/// of the composites built on them.
final class LayerGradCheckTests: XCTestCase {
    override func setUp() { Descent.manualSeed(7) }
    private func x(_ shape: Int...) -> Tensor { Tensor.randn(shape, dtype: .float64) }

    private func check(_ name: String, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                       _ f: @escaping ([Tensor]) -> Tensor) {
        assertGradcheck(name, inputs, file: file, line: line, f)
    }

    func testConvolutions() {
        check("conv2d stride/pad/dilation", [x(2, 2, 5, 6), x(3, 2, 3, 2), x(3)]) {
            conv2d($0[0], $0[1], bias: $0[2], stride: [2, 1], padding: [1, 2], dilation: [1, 2])
        }
        check("conv2d groups", [x(1, 4, 4, 4), x(4, 2, 2, 2)]) { conv2d($0[0], $0[1], groups: 2) }
        check("conv2d same", [x(1, 1, 4, 5), x(2, 1, 2, 3)]) { conv2d($0[0], $0[1], padding: "same") }
        check("conv1d", [x(2, 2, 7), x(3, 2, 3)]) { conv1d($0[0], $0[1], stride: 2, padding: 1) }
        check("convTranspose2d", [x(2, 2, 3, 3), x(2, 3, 3, 2), x(3)]) {
            convTranspose2d($0[0], $0[1], bias: $0[2], stride: 2, padding: [1, 0], outputPadding: [1, 1])
        }
        check("convTranspose2d groups dilation", [x(1, 4, 3, 2), x(4, 1, 2, 2)]) {
            convTranspose2d($0[0], $0[1], stride: [1, 2], groups: 2, dilation: 2)
        }
        check("convTranspose1d", [x(2, 2, 4), x(2, 3, 3)]) { convTranspose1d($0[0], $0[1], stride: 2, padding: 1) }
    }

    func testPoolingAndUpsampling() {
        // Distinct values keep the max away from ties.
        let distinct = (Tensor.randperm(2 * 2 * 5 * 6).reshape([2, 2, 5, 6]).double() * 0.1).requiringGrad(false)
        check("maxPool2d", [distinct]) { $0[0].maxPool2d(kernelSize: 3, stride: 2, padding: 1, dilation: 1, ceilMode: true) }
        check("maxPool2d dilation", [distinct]) { $0[0].maxPool2d(kernelSize: 2, stride: 1, dilation: 2) }
        check("adaptiveMaxPool2d", [distinct]) { $0[0].adaptiveMaxPool2d([3, 4]) }
        check("avgPool2d", [x(2, 2, 5, 6)]) { $0[0].avgPool2d(kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false) }
        check("adaptiveAvgPool2d", [x(1, 2, 5, 7)]) { $0[0].adaptiveAvgPool2d([3, 4]) }
        check("avgPool1d", [x(2, 2, 7)]) { $0[0].avgPool1d(kernelSize: 3, stride: 2, padding: 1) }
        check("nearest", [x(1, 2, 3, 4)]) { interpolate($0[0], scaleFactor: 1.7) }
        check("bilinear", [x(1, 2, 3, 4)]) { interpolate($0[0], size: [5, 7], mode: .bilinear) }
        check("bilinear align corners", [x(1, 1, 3, 4)]) { interpolate($0[0], scaleFactor: 2.5, mode: .bilinear, alignCorners: true) }
    }

    func testActivationsNormalizationAndLosses() {
        check("erf", [x(5)]) { $0[0].erf() }
        check("log1p", [Tensor.uniform([5], low: 0, high: 2, dtype: .float64)]) { $0[0].log1p() }
        check("gelu", [x(6)]) { $0[0].gelu() }
        check("softplus", [x(6)]) { $0[0].softplus(beta: 2) }
        check("softmax", [x(3, 4)]) { $0[0].softmax(dim: 1) }
        check("logSoftmax", [x(3, 4)]) { $0[0].logSoftmax(dim: 0) }
        check("logSoftmax last dim", [x(2, 3, 5)]) { $0[0].logSoftmax(dim: -1) }
        check("logSoftmax middle dim", [x(2, 3, 5)]) { $0[0].logSoftmax(dim: 1) }
        check("logSoftmax 0-d", [x()]) { $0[0].logSoftmax(dim: -1) * 3 + $0[0] }
        check("batchNorm train", [x(4, 3, 2), x(3), x(3)]) {
            batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
        }
        check("batchNorm reference composite", [x(4, 3, 2), x(3), x(3)]) {
            batchNormReference($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
        }
        check("layerNorm", [x(3, 5)]) { LayerNorm(5, elementwiseAffine: false)($0[0]) }
        let target = Tensor(shape: [4], scalars: [0, 2, 1, 2] as [Int64])
        check("crossEntropy smoothing", [x(4, 3)]) { crossEntropy($0[0], target, labelSmoothing: 0.2) }
        check("crossEntropy", [x(4, 3)]) { crossEntropy($0[0], target) }
        let ignoring = Tensor(shape: [5], scalars: [0, 2, -1, 1, 2] as [Int64]), classWeights = Tensor.rand([3], dtype: .float64) + 0.5
        for reduction in [Reduction.mean, .sum, .none] {
            check("nllLoss weight ignore \(reduction)", [x(5, 3)]) {
                nllLoss($0[0], ignoring, weight: classWeights, ignoreIndex: -1, reduction: reduction)
            }
        }
        let spatial = Tensor(shape: [2, 2, 2], scalars: [0, 2, 1, 1, 2, 0, 0, 1] as [Int64])
        check("crossEntropy spatial", [x(2, 3, 2, 2)]) { crossEntropy($0[0], spatial) }
        check("nllLoss one element", [x(3)]) { nllLoss($0[0], Tensor(shape: [], scalars: [2] as [Int64])) }
        check("bceWithLogits", [x(6), Tensor.uniform([6], low: 0, high: 1, dtype: .float64)]) { binaryCrossEntropyWithLogits($0[0], $0[1]) }
        check("binaryCrossEntropy", [Tensor.uniform([6], low: 0.1, high: 0.9, dtype: .float64), Tensor.uniform([6], low: 0, high: 1, dtype: .float64)]) {
            binaryCrossEntropy($0[0], $0[1])
        }
        check("smoothL1", [x(6), x(6)]) { smoothL1Loss($0[0], $0[1], beta: 0.5) }
    }
}

final class BatchNormPrimitiveTests: XCTestCase {
    /// The fused primitive against its oracle, the composite: outputs, gradients, running stats.
    func testFusedPrimitiveMatchesComposite() {
        Descent.manualSeed(5)
        for shape in [[8, 3], [4, 5, 7], [3, 4, 6, 5]] {
            let c = shape[1]
            let x = (Tensor.randn(shape) * 3 + 1).requiringGrad(), w = Tensor.rand([c]).requiringGrad(), b = Tensor.randn([c]).requiringGrad()
            let x2 = x.detach().clone().requiringGrad(), w2 = w.detach().clone().requiringGrad(), b2 = b.detach().clone().requiringGrad()
            let rm = Tensor.zeros([c]), rv = Tensor.ones([c]), rm2 = Tensor.zeros([c]), rv2 = Tensor.ones([c])
            let g = Tensor.randn(shape)
            let y = batchNorm(x, runningMean: rm, runningVar: rv, weight: w, bias: b, training: true, momentum: 0.3)
            let y2 = batchNormReference(x2, runningMean: rm2, runningVar: rv2, weight: w2, bias: b2, training: true, momentum: 0.3)
            assertClose(y, y2, rtol: 1e-5, atol: 1e-5, "output \(shape)")
            (y * g).sum().backward()
            (y2 * g).sum().backward()
            assertClose(x.grad!, x2.grad!, rtol: 1e-4, atol: 1e-5, "dx \(shape)")
            assertClose(w.grad!, w2.grad!, rtol: 1e-4, atol: 1e-5, "dw \(shape)")
            assertClose(b.grad!, b2.grad!, rtol: 1e-4, atol: 1e-5, "db \(shape)")
            assertClose(rm, rm2, rtol: 1e-5, atol: 1e-6, "running mean")
            assertClose(rv, rv2, rtol: 1e-5, atol: 1e-6, "running var")
        }
    }
}

/// Float64 gradient checks of the recurrent cells' fused primitives and of the cells built on them.
final class RecurrentGradCheckTests: XCTestCase {
    override func setUp() { Descent.manualSeed(17) }
    private func x(_ shape: Int...) -> Tensor { Tensor.randn(shape, dtype: .float64) }

    private func check(_ name: String, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                       _ f: @escaping ([Tensor]) -> Tensor) {
        assertGradcheck(name, inputs, file: file, line: line, f)
    }

    func testFusedCellPrimitives() {
        check("lstmPointwise h", [x(3, 8), x(3, 2)]) { Tensor.lstmPointwise(gates: $0[0], cell: $0[1]).h }
        check("lstmPointwise c", [x(3, 8), x(3, 2)]) { Tensor.lstmPointwise(gates: $0[0], cell: $0[1]).c }
        check("gruPointwise", [x(3, 6), x(3, 6), x(3, 2)]) { Tensor.gruPointwise(inputGates: $0[0], hiddenGates: $0[1], hidden: $0[2]) }
    }

    func testCellsWithFloat64Weights() {
        // Cells whose weights are float64 inputs, so every gradient is checked.
        let wih = x(8, 3), whh = x(8, 2), b = x(8)
        check("RNN cell tanh", [x(4, 3), x(4, 2), x(2, 3), x(2, 2)]) { ($0[0].matmul($0[2].t) + $0[1].matmul($0[3].t)).tanh() }
        check("LSTM cell", [x(4, 3), x(4, 2), x(4, 2), wih, whh, b]) {
            Tensor.lstmPointwise(gates: $0[0].matmul($0[3].t) + $0[1].matmul($0[4].t) + $0[5], cell: $0[2]).h
        }
        check("GRU cell", [x(4, 3), x(4, 2), x(6, 3), x(6, 2), x(6)]) {
            Tensor.gruPointwise(inputGates: $0[0].matmul($0[2].t), hiddenGates: $0[1].matmul($0[3].t) + $0[4], hidden: $0[1])
        }
    }
}
