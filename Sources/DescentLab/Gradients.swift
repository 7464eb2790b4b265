import Descent
import DescentPlot
import Foundation

/// Points in the plane in two classes: inside or outside a circle of radius 1 (the two classes
/// about equal), as float32 inputs (N, 2) and int64 labels (N).
func circleData(_ n: Int) -> (Tensor, Tensor) {
    let x = Tensor.uniform([n, 2], low: -1.5, high: 1.5)
    let r = (x * x).sum(dim: 1)
    return (x, r.lt(1.2).to(.int64))
}

/// A deep MLP of `depth` Linear layers of `width` units with `activation` between them.
func deepMLP(depth: Int, width: Int, inputs: Int, outputs: Int, activation: () -> Module) -> Sequential {
    Sequential {
        for i in 0..<depth {
            Linear(i == 0 ? inputs : width, i == depth - 1 ? outputs : width)
            if i < depth - 1 { activation() }
        }
    }
}

/// The Linear layers' weights of a Sequential, first layer first.
func weights(_ model: Sequential) -> [Tensor] { model.layers.compactMap { ($0 as? Linear)?.weight } }

/// Vanishing gradients: in a deep MLP, sigmoid (and less so tanh) shrink the gradient at every
/// layer, so the first layers barely learn; ReLU with He initialization keeps it.
public enum Vanishing: LabExperiment {
    public static let name = "vanishing"

    public static func run(quick: Bool) -> LabReport {
        let depth = quick ? 10 : 16, width = 64, steps = quick ? 30 : 300
        Descent.manualSeed(1)
        let (x, y) = circleData(512)
        let configs: [(String, () -> Module, (Tensor) -> Void)] = [
            ("sigmoid, Xavier", { Sigmoid() }, { Init.xavierUniform($0) }),
            ("tanh, Xavier", { Tanh() }, { Init.xavierUniform($0, gain: 5.0 / 3) }),
            ("ReLU, He", { ReLU() }, { Init.kaimingNormal($0) }),
        ]
        var table = [["activation", "‖∇W₁‖ at start", "‖∇W_L‖ at start", "first / last", "first / last at end", "loss start → end"]]
        var series: [Series] = [], numbers: [String: Double] = [:], firstLayer: [Double] = [], duringTraining: [(name: String, steps: [Int], norms: [[Double]])] = []
        let every = max(1, steps / 15)
        for (name, activation, initialize) in configs {
            Descent.manualSeed(2)
            let model = deepMLP(depth: depth, width: width, inputs: 2, outputs: 2, activation: activation)
            for w in weights(model) { withNoGrad { _ = initialize(w) } }
            let optimizer = SGD(model.parameters(), lr: 0.1, momentum: 0.9)
            // The step's gradients are still there when `after` runs; keep every layer's norm
            // at the start and then every `every` steps.
            var norms: [Double] = [], during: [[Double]] = [], recorded: [Int] = []
            let losses = descend(optimizer, steps: steps, { crossEntropy(model(x), y) }, after: { step in
                guard step % every == 0 else { return }
                let current = weights(model).map { norm($0.grad!) }
                if step == 0 { norms = current }
                during.append(current); recorded.append(step)
            })
            duringTraining.append((name, recorded, (0..<depth).map { layer in during.map { $0[layer] } }))
            let ratio = norms.first! / norms.last!
            firstLayer.append(norms.first!)
            table.append([name, fmt(norms.first!), fmt(norms.last!), fmt(ratio), fmt(during.last![0] / during.last![depth - 1]), "\(fmt(losses.first!)) → \(fmt(losses.last!))"])
            series.append(Series(name, norms.enumerated().map { (Double($0.offset + 1), $0.element) }))
            let key = name.split(separator: ",")[0].lowercased()
            numbers["\(key)_first_layer_grad"] = norms.first!
            numbers["\(key)_last_layer_grad"] = norms.last!
            numbers["\(key)_final_loss"] = losses.last!
            numbers["\(key)_first_over_last_end"] = during.last![0] / during.last![depth - 1]
        }
        let sigmoidVsRelu = firstLayer[2] / firstLayer[0]
        numbers["relu_over_sigmoid_first_layer"] = sigmoidVsRelu
        let sigmoidShrink = numbers["sigmoid_first_layer_grad"]! / numbers["sigmoid_last_layer_grad"]!
        let tanhShrink = numbers["tanh_first_layer_grad"]! / numbers["tanh_last_layer_grad"]!
        let holds = sigmoidVsRelu >= 100 && sigmoidShrink < 0.01
        let verdict = holds
            ? "Confirmed: with \(depth) layers the first layer's gradient is \(fmt(sigmoidVsRelu))× smaller with sigmoid than with ReLU (He), and \(fmt(1 / sigmoidShrink))× smaller than sigmoid's last layer's; tanh (Xavier, gain 5/3) keeps \(fmt(tanhShrink)) of it."
            : "Not confirmed in this run: ReLU's first-layer gradient is \(fmt(sigmoidVsRelu))× sigmoid's (expected ≥ 100×), sigmoid's first/last layer ratio \(fmt(sigmoidShrink)) (expected < 0.01)."
        // One colour scale for the three heatmaps.
        let all = duringTraining.flatMap { $0.norms.joined() }.filter { $0 > 0 && $0.isFinite }
        let heatmaps = duringTraining.map { d in
            Heatmap(title: "\(d.name): each layer's gradient norm during training", xLabel: "step", yLabel: "layer",
                    rowLabels: (1...depth).map { "layer \($0)" }, columnLabels: d.steps.map(String.init), values: d.norms, logScale: true,
                    range: (all.min() ?? 1, all.max() ?? 1))
        }
        let chart = LineChart(title: "Gradient norm of each layer's weights at the start (\(depth) layers)", xLabel: "layer (1 = input side)",
                              yLabel: "‖∂loss/∂W‖ (log scale)", series: series, logY: true)
        return LabReport(name: name, title: "Vanishing gradients with depth",
                         claim: "Sigmoid and tanh gradients vanish with depth; ReLU with He initialization keeps them.",
                         table: table, holds: holds, verdict: verdict, numbers: numbers, figures: [("gradients.svg", chart.svg())]
                            + zip(["sigmoid", "tanh", "relu"], heatmaps).map { ("during-training-\($0).svg", $1.svg(cellWidth: 34, cellHeight: 18)) })
    }
}

/// Exploding gradients: with large initial weights, the gradient grows layer after layer toward
/// the input and plain gradient descent diverges; clipping the gradient's norm lets it train.
public enum Exploding: LabExperiment {
    public static let name = "exploding"

    public static func run(quick: Bool) -> LabReport {
        let depth = quick ? 8 : 12, width = 32, steps = quick ? 60 : 300, gain = 2.0
        Descent.manualSeed(3)
        let x = Tensor.randn([256, 8]), target = (x.narrow(dim: 1, start: 0, length: 1) * 2).sin()
        var table = [["training", "‖∂loss/∂a‖ input side", "output side", "growth", "loss start", "loss end"]]
        var numbers: [String: Double] = [:], curves: [Series] = [], layerSeries: [Series] = []
        var results: [(finite: Bool, start: Double, end: Double)] = []
        for clip in [false, true] {
            Descent.manualSeed(4)
            let model = deepMLP(depth: depth, width: width, inputs: 8, outputs: 1, activation: { ReLU() })
            for w in weights(model) { withNoGrad { Init.kaimingNormal(w).mulAssign(Tensor(gain)) } }
            let optimizer = SGD(model.parameters(), lr: 0.01)
            var losses: [Double] = [], activationNorms: [Double] = []
            for step in 0..<steps {
                // Keep each hidden activation's gradient on the first step.
                var h = x, hidden: [Tensor] = []
                for layer in model.layers {
                    h = layer(h)
                    if step == 0 && layer is Linear { h.retainGrad(); hidden.append(h) }
                }
                let loss = mseLoss(h, target)
                optimizer.zeroGrad()
                loss.backward()
                if step == 0 { activationNorms = hidden.map { norm($0.grad!) } }
                losses.append(loss.itemDouble)
                if !loss.itemDouble.isFinite { break }
                if clip { _ = try? clipGradNorm(model.parameters(), maxNorm: 1) }
                optimizer.step()
            }
            let finite = losses.allSatisfy(\.isFinite), end = losses.last!
            results.append((finite, losses.first!, end))
            let growth = activationNorms.first! / activationNorms.last!
            let label = clip ? "SGD + clipGradNorm(1)" : "plain SGD"
            table.append([label, fmt(activationNorms.first!), fmt(activationNorms.last!), fmt(growth), fmt(losses.first!), finite ? fmt(end) : "diverged (\(end))"])
            curves.append(Series(label, losses.enumerated().map { (Double($0.offset), $0.element) }))
            if !clip {
                layerSeries.append(Series("‖∂loss/∂a_l‖", activationNorms.enumerated().map { (Double($0.offset + 1), $0.element) }))
                numbers["gradient_growth_input_over_output"] = growth
            }
            numbers[clip ? "clipped_final_loss" : "plain_final_loss"] = end
            numbers[clip ? "clipped_start_loss" : "plain_start_loss"] = losses.first!
        }
        let plain = results[0], clipped = results[1]
        let plainDiverged = !plain.finite || plain.end > plain.start
        let clippedTrains = clipped.finite && clipped.end < clipped.start / 2
        let growth = numbers["gradient_growth_input_over_output"]!
        let holds = growth > 10 && plainDiverged && clippedTrains
        let verdict = holds
            ? "Confirmed: the gradient grows \(fmt(growth))× from the output to the input side; plain SGD diverges, while with clipping the loss falls from \(fmt(clipped.start)) to \(fmt(clipped.end))."
            : "Not confirmed in this run: growth \(fmt(growth))×, plain SGD \(plainDiverged ? "diverged" : "did not diverge"), clipped SGD \(clippedTrains ? "trained" : "did not train")."
        let layers = LineChart(title: "Gradient of each layer's output at the start", xLabel: "layer (1 = input side)",
                               yLabel: "‖∂loss/∂a‖ (log scale)", series: layerSeries, logY: true)
        let loss = LineChart(title: "Loss during training", xLabel: "step", yLabel: "MSE (log scale)", series: curves, logY: true)
        return LabReport(name: name, title: "Exploding gradients and clipping",
                         claim: "Large weights make gradients explode and training diverge; clipping the gradient norm tames them.",
                         table: table, holds: holds, verdict: verdict, numbers: numbers,
                         figures: [("gradients.svg", layers.svg()), ("loss.svg", loss.svg())])
    }
}
