import Descent
import DescentPlot
import Foundation

/// Saturation: sigmoid and tanh flatten at the tails (their derivatives vanish there); tanh's
/// outputs are centred on zero, sigmoid's are all positive, and the same network learns faster
/// with tanh.
public enum Saturation: LabExperiment {
    public static let name = "saturation"

    public static func run(quick: Bool) -> LabReport {
        let points: [Double] = [0, 2, 5, 10]
        let x = Tensor(points, dtype: .float64).requiringGrad()
        x.sigmoid().sum().backward()
        let dSigmoid = x.grad!.toArray(Double.self)
        x.zeroGrad()
        x.tanh().sum().backward()
        let dTanh = x.grad!.toArray(Double.self)
        var table = [["x", "σ′(x)", "tanh′(x)"]] + points.indices.map { [fmt(points[$0]), fmt(dSigmoid[$0]), fmt(dTanh[$0])] }
        Descent.manualSeed(8)
        let sample = Tensor.randn([10_000])
        let meanSigmoid = sample.sigmoid().mean().itemDouble, meanTanh = sample.tanh().mean().itemDouble
        table.append(["mean output on N(0, 1)", fmt(meanSigmoid), fmt(meanTanh)])
        // The same 3-layer network, Xavier initialization, trained with each.
        let (data, labels) = circleData(512)
        var losses: [String: Double] = [:], curves: [Series] = []
        for (label, activation) in [("sigmoid", { Sigmoid() as Module }), ("tanh", { Tanh() })] {
            Descent.manualSeed(9)
            let model = deepMLP(depth: 3, width: 32, inputs: 2, outputs: 2, activation: activation)
            for w in weights(model) { withNoGrad { _ = Init.xavierUniform(w) } }
            let curve = descend(SGD(model.parameters(), lr: 0.5), steps: quick ? 100 : 500) { crossEntropy(model(data), labels) }
            losses[label] = curve.last!
            curves.append(Series("loss with \(label)", curve.enumerated().map { (Double($0.offset), $0.element) }))
        }
        table.append(["final training loss (same network)", fmt(losses["sigmoid"]!), fmt(losses["tanh"]!)])
        let grid = Tensor.linspace(-6, 6, steps: 121, dtype: .float64).requiringGrad()
        grid.sigmoid().sum().backward()
        let gs = grid.grad!.toArray(Double.self)
        grid.zeroGrad()
        grid.tanh().sum().backward()
        let gt = grid.grad!.toArray(Double.self), xs = grid.detach().toArray(Double.self)
        let derivatives = LineChart(title: "Derivatives of sigmoid and tanh", xLabel: "x", yLabel: "derivative",
                                    series: [Series("σ′(x)", Array(zip(xs, gs))), Series("tanh′(x)", Array(zip(xs, gt)))])
        let training = LineChart(title: "The same network trained with each", xLabel: "step", yLabel: "cross-entropy", series: curves)
        let holds = dSigmoid[3] < 1e-4 && dTanh[3] < 1e-7 && abs(meanTanh) < 0.05 && meanSigmoid > 0.45 && losses["tanh"]! < losses["sigmoid"]!
        let verdict = holds
            ? "Confirmed: at x = 10 the derivatives are \(fmt(dSigmoid[3])) (σ) and \(fmt(dTanh[3])) (tanh); tanh's outputs average \(fmt(meanTanh)) against sigmoid's \(fmt(meanSigmoid)), and the same network reaches loss \(fmt(losses["tanh"]!)) with tanh against \(fmt(losses["sigmoid"]!)) with sigmoid."
            : "Not confirmed in this run: tail derivatives \(fmt(dSigmoid[3])) and \(fmt(dTanh[3])), mean outputs \(fmt(meanSigmoid)) and \(fmt(meanTanh)), final losses \(fmt(losses["sigmoid"]!)) (sigmoid) and \(fmt(losses["tanh"]!)) (tanh)."
        return LabReport(name: name, title: "Saturation of sigmoid and tanh",
                         claim: "Sigmoid and tanh saturate (their derivatives vanish at the tails); tanh is zero-centred, sigmoid is not, and networks learn faster with tanh.",
                         table: table, holds: holds, verdict: verdict,
                         numbers: ["sigmoid_derivative_at_10": dSigmoid[3], "tanh_derivative_at_10": dTanh[3], "mean_sigmoid": meanSigmoid,
                                   "mean_tanh": meanTanh, "sigmoid_final_loss": losses["sigmoid"]!, "tanh_final_loss": losses["tanh"]!],
                         figures: [("derivatives.svg", derivatives.svg()), ("training.svg", training.svg())])
    }
}

/// Batch normalization: a network whose inputs have very different scales trains badly or not
/// at all without it, at any learning rate; with it, at every rate tried. After training, the
/// running statistics make an example's output in eval mode independent of the rest of its batch.
public enum BatchNormLesson: LabExperiment {
    public static let name = "batchnorm"

    public static func run(quick: Bool) -> LabReport {
        let steps = quick ? 80 : 400
        Descent.manualSeed(10)
        let (points, labels) = circleData(512)
        // Four features of very different scales: the two coordinates ×100 and ×0.01, and noise ×10.
        let x = Tensor.cat([points.narrow(dim: 1, start: 0, length: 1) * 100, points.narrow(dim: 1, start: 1, length: 1) * 0.01,
                            Tensor.randn([512, 2]) * 10], dim: 1)
        var table = [["network", "lr", "loss start", "loss end"]]
        var curves: [Series] = [], finals: [String: Double] = [:]
        for bn in [false, true] {
            for lr in [0.01, 0.1, 1.0] {
                Descent.manualSeed(11)
                let model = Sequential {
                    if bn { BatchNorm1d(4) }
                    Linear(4, 32); if bn { BatchNorm1d(32) }; ReLU()
                    Linear(32, 32); if bn { BatchNorm1d(32) }; ReLU()
                    Linear(32, 2)
                }
                let curve = descend(SGD(model.parameters(), lr: lr, momentum: 0.9), steps: steps) { crossEntropy(model(x), labels) }
                let label = "\(bn ? "with" : "without") BatchNorm, lr \(lr)"
                table.append([bn ? "with BatchNorm" : "without", "\(lr)", fmt(curve.first!), curve.last!.isFinite ? fmt(curve.last!) : "diverged"])
                curves.append(Series(label, curve.enumerated().map { (Double($0.offset), $0.element) }))
                finals[label] = curve.last!.isFinite ? curve.last! : .infinity
            }
        }
        // Train against eval mode: one example's output with two different batch-mates.
        Descent.manualSeed(12)
        let bnModel = Sequential { BatchNorm1d(4); Linear(4, 2) }
        for _ in 0..<20 { _ = bnModel(x) }  // running statistics
        let a = Tensor.cat([x.narrow(dim: 0, start: 0, length: 1), x.narrow(dim: 0, start: 1, length: 7)], dim: 0)
        let b = Tensor.cat([x.narrow(dim: 0, start: 0, length: 1), x.narrow(dim: 0, start: 100, length: 7) * 3], dim: 0)
        let trainGap = withNoGrad { (bnModel(a)[0] - bnModel(b)[0]).abs().amax().itemDouble }
        bnModel.eval()
        let runningBefore = (bnModel[0] as! BatchNorm).runningMean!.scalars
        let evalGap = withNoGrad { (bnModel(a)[0] - bnModel(b)[0]).abs().amax().itemDouble }
        let runningFixed = (bnModel[0] as! BatchNorm).runningMean!.scalars == runningBefore
        table.append(["example 0 with other batch-mates", "train mode", "", "output moves \(fmt(trainGap))"])
        table.append(["example 0 with other batch-mates", "eval mode", "", "output moves \(fmt(evalGap))"])
        let bestWithout = finals.filter { $0.key.hasPrefix("without") }.values.min()!
        let worstWith = finals.filter { $0.key.hasPrefix("with ") }.values.max()!
        let holds = worstWith < bestWithout && evalGap == 0 && trainGap > 1e-3 && runningFixed
        let verdict = holds
            ? "Confirmed: with BatchNorm even the worst learning rate ends at loss \(fmt(worstWith)), below the best run without it (\(fmt(bestWithout))); in eval mode an example's output no longer depends on its batch (it moved \(fmt(trainGap)) in train mode, 0 in eval mode)."
            : "Not confirmed in this run: worst with BatchNorm \(fmt(worstWith)), best without \(fmt(bestWithout)); eval-mode change \(fmt(evalGap)), train-mode change \(fmt(trainGap))."
        let chart = LineChart(title: "Inputs of scales 100, 0.01 and 10: loss against step", xLabel: "step", yLabel: "cross-entropy (log scale)",
                              series: curves, logY: true)
        return LabReport(name: name, title: "Batch normalization",
                         claim: "Batch normalization makes training robust to badly scaled inputs and to the learning rate; in eval mode its running statistics make outputs independent of the batch.",
                         table: table, holds: holds, verdict: verdict,
                         numbers: ["best_final_loss_without": bestWithout, "worst_final_loss_with": worstWith, "eval_mode_change": evalGap,
                                   "train_mode_change": trainGap],
                         figures: [("loss.svg", chart.svg(width: 720, height: 440))])
    }
}

/// Convolution arithmetic: the output size ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1 for stride, padding
/// and dilation choices, checked against the layer; and what a CNN's first layer learns on the
/// digits: its filters and the feature maps of one digit.
public enum ConvolutionLesson: LabExperiment {
    public static let name = "convolution"

    public static func run(quick: Bool) -> LabReport {
        var table = [["input", "kernel", "stride", "padding", "dilation", "formula", "Conv2d output"]]
        var mismatches = 0
        for (n, k, s, p, d) in [(28, 3, 1, 0, 1), (28, 3, 1, 1, 1), (28, 5, 2, 2, 1), (28, 3, 2, 0, 1), (28, 3, 1, 2, 2), (32, 4, 4, 0, 1), (7, 3, 3, 1, 1)] {
            let formula = (n + 2 * p - d * (k - 1) - 1) / s + 1
            let out = withNoGrad { Conv2d(1, 1, kernelSize: Size2(k), stride: Size2(s), padding: .explicit(Size2(p)), dilation: Size2(d))(Tensor.zeros([1, 1, n, n])) }
            if out.shape[2] != formula || out.shape[3] != formula { mismatches += 1 }
            table.append(["\(n)×\(n)", "\(k)", "\(s)", "\(p)", "\(d)", "\(formula)×\(formula)", "\(out.shape[2])×\(out.shape[3])"])
        }
        // A small CNN on the embedded digits.
        Descent.manualSeed(13)
        var accuracy = 0.0
        var figures: [(String, String)] = []
        if let digits = try? Digits.load() {
            let conv = Conv2d(1, 8, kernelSize: 3, padding: 1)
            let model = Sequential { conv; ReLU(); MaxPool2d(2); Flatten(); Linear(8 * 4 * 4, 10) }
            let optimizer = Adam(model.parameters(), lr: 0.01)
            for _ in 0..<(quick ? 2 : 10) {
                for batch in DataLoader(digits.train, batchSize: 64, shuffle: true) {
                    let loss = crossEntropy(model(batch.inputs), batch.targets)
                    optimizer.zeroGrad()
                    loss.backward()
                    optimizer.step()
                }
            }
            model.eval()
            accuracy = withNoGrad { model(digits.test.images).argmax(dim: 1).eq(digits.test.labels).float().mean().itemDouble }
            func rows(_ t: Tensor) -> [[Double]] {
                let v = t.toArray(Double.self), w = t.shape[1]
                return (0..<t.shape[0]).map { Array(v[($0 * w)..<(($0 + 1) * w)]) }
            }
            let filters = (0..<8).map { ImageGrid.Image(rows(conv.weight[$0][0]), caption: "filter \($0)") }
            let digit = digits.test.images[0]
            let maps = withNoGrad { conv(digit.unsqueeze(0)).relu() }[0]
            let images = [ImageGrid.Image(rows(digit[0]), caption: "digit \(Int(digits.test.labels[0].itemDouble))")]
                + (0..<8).map { ImageGrid.Image(rows(maps[$0]), caption: "map \($0)") }
            figures = [("filters.svg", ImageGrid(title: "First-layer filters (3×3) learned on the digits", images: filters).svg()),
                       ("feature-maps.svg", ImageGrid(title: "A test digit and its feature maps after ReLU", images: images, columns: 9).svg(cell: 56))]
        }
        let holds = mismatches == 0 && accuracy > 0.8
        let verdict = holds
            ? "Confirmed: all \(table.count - 1) output sizes equal the formula, and the one-layer CNN reaches \(String(format: "%.1f", 100 * accuracy))% on the test digits."
            : "Not confirmed in this run: \(mismatches) output sizes differ from the formula; test accuracy \(String(format: "%.1f", 100 * accuracy))%."
        return LabReport(name: name, title: "Convolution: stride, padding, dilation and learned filters",
                         claim: "A convolution's output size is ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1; its filters learn local features.",
                         table: table, holds: holds, verdict: verdict,
                         numbers: ["size_mismatches": Double(mismatches), "test_accuracy": accuracy], figures: figures)
    }
}
