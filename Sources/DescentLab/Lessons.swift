import Descent
import DescentPlot
import Foundation

/// Without a nonlinearity a deep network is a linear map: it cannot fit a sine, however deep;
/// with tanh or ReLU between the layers it can.
public enum Nonlinearity: LabExperiment {
    public static let name = "nonlinearity"

    public static func run(quick: Bool) -> LabReport {
        let steps = quick ? 300 : 2000
        let x = Tensor.linspace(-Double.pi, Double.pi, steps: 128).unsqueeze(1), y = x.sin()
        var table = [["network (4 layers of 32)", "final MSE"]]
        var numbers: [String: Double] = [:], fits: [Series] = [Series("sin(x)", zip(x.scalars, y.scalars).map { (Double($0), Double($1)) })]
        for (label, activation) in [("no activation", { Identity() as Module }), ("tanh", { Tanh() }), ("ReLU", { ReLU() })] {
            Descent.manualSeed(5)
            let model = deepMLP(depth: 4, width: 32, inputs: 1, outputs: 1, activation: activation)
            let loss = descend(Adam(model.parameters(), lr: 0.01), steps: steps) { mseLoss(model(x), y) }.last!
            let prediction = withNoGrad { model(x) }
            fits.append(Series(label, zip(x.scalars, prediction.scalars).map { (Double($0), Double($1)) }))
            table.append([label, fmt(loss)])
            numbers["\(label.replacingOccurrences(of: " ", with: "_").lowercased())_mse"] = loss
        }
        let linear = numbers["no_activation_mse"]!, best = min(numbers["tanh_mse"]!, numbers["relu_mse"]!)
        // The best straight line through sin on [−π, π] leaves an MSE of 1/2 − 3/π² ≈ 0.196.
        numbers["best_line_mse"] = 0.5 - 3 / (Double.pi * Double.pi)
        let holds = linear > 10 * best && linear > 0.9 * numbers["best_line_mse"]!
        let verdict = holds
            ? "Confirmed: without activations the 4-layer network stops at MSE \(fmt(linear)) (the best straight line: \(fmt(numbers["best_line_mse"]!))); with a nonlinearity it reaches \(fmt(best))."
            : "Not confirmed in this run: MSE \(fmt(linear)) without activations against \(fmt(best)) with them."
        let chart = LineChart(title: "Fitting sin(x) with and without nonlinearity", xLabel: "x", yLabel: "y", series: fits)
        return LabReport(name: name, title: "Why networks need nonlinearity",
                         claim: "Without activation functions a deep network is linear; with tanh or ReLU it fits curves.",
                         table: table, holds: holds, verdict: verdict, numbers: numbers, figures: [("fits.svg", chart.svg())])
    }
}

/// Backpropagation is the chain rule: the notes' worked example, a network of two softplus
/// units whose parameters are fixed but the last bias b₃, fitted to three points by gradient
/// descent on the sum of squared residuals (new = old − learning rate × slope).
public enum Backprop: LabExperiment {
    public static let name = "backprop"

    public static func run(quick: Bool) -> LabReport {
        let inputs: [Double] = [0, 0.5, 1], observed: [Double] = [0, 1, 0]
        let (w1, b1, w2, b2, w3, w4) = (3.34, -1.43, -3.53, 0.57, -1.22, -2.30)
        let rate = 0.1
        let x = Tensor(inputs, dtype: .float64), obs = Tensor(observed, dtype: .float64)
        // The parts of the prediction that do not depend on b₃.
        let hidden = ((x * w1 + b1).softplus() * w3 + (x * w2 + b2).softplus() * w4).toArray(Double.self)
        func ssr(_ b3: Double) -> Double { zip(hidden, observed).reduce(0) { $0 + pow($1.1 - ($1.0 + b3), 2) } }
        var b3 = 0.0, steps: [(b3: Double, ssr: Double, chain: Double, autograd: Double)] = []
        var worst = 0.0
        for _ in 0..<(quick ? 50 : 200) {
            // dSSR/db₃ by the chain rule: Σ −2 (observed − predicted) · dpredicted/db₃, with dpredicted/db₃ = 1.
            let chain = zip(hidden, observed).reduce(0) { $0 + -2 * ($1.1 - ($1.0 + b3)) }
            let b = Tensor(b3, dtype: .float64).requiringGrad()
            let predicted = Tensor(hidden, dtype: .float64) + b
            let loss = ((obs - predicted) * (obs - predicted)).sum()
            loss.backward()
            let auto = b.grad!.itemDouble
            worst = max(worst, abs(chain - auto))
            steps.append((b3, loss.itemDouble, chain, auto))
            let step = rate * chain
            b3 -= step
            if abs(step) < 1e-3 { break }
        }
        var table = [["step", "b₃", "SSR", "dSSR/db₃ (chain rule)", "autograd", "step size"]]
        for (i, s) in steps.enumerated() where i < 6 || i == steps.count - 1 {
            table.append(["\(i)", fmt(s.b3), fmt(s.ssr), fmt(s.chain), fmt(s.autograd), fmt(rate * s.chain)])
        }
        let curve = stride(from: -1.0, through: 5.0, by: 0.05).map { ($0, ssr($0)) }
        let chart = LineChart(title: "Sum of squared residuals against the last bias, and the descent", xLabel: "b₃", yLabel: "SSR",
                              series: [Series("SSR(b₃)", curve), Series("gradient-descent steps", steps.map { ($0.b3, $0.ssr) })])
        let minimum = curve.min { $0.1 < $1.1 }!.0
        let holds = worst < 1e-9 && abs(b3 - minimum) < 0.06
        let verdict = holds
            ? "Confirmed: the chain-rule slope equals autograd's at every one of the \(steps.count) steps (largest difference \(fmt(worst))); descent stops at b₃ = \(String(format: "%.3f", b3)), the curve's minimum."
            : "Not confirmed in this run: largest slope difference \(fmt(worst)), final b₃ \(fmt(b3)) against the minimum near \(fmt(minimum))."
        return LabReport(name: name, title: "Backpropagation is the chain rule",
                         claim: "The derivative of the loss by the chain rule equals autograd's, and gradient descent steps by learning rate × slope to the minimum.",
                         table: table, holds: holds, verdict: verdict,
                         numbers: ["final_b3": b3, "steps": Double(steps.count), "largest_slope_difference": worst, "curve_minimum": minimum],
                         figures: [("descent.svg", chart.svg())])
    }
}

/// Dying ReLU: with a large learning rate many ReLU units end up negative for every input,
/// output zero and get no gradient again; Leaky ReLU keeps a slope there and keeps them alive.
public enum DyingReLU: LabExperiment {
    public static let name = "dying-relu"

    public static func run(quick: Bool) -> LabReport {
        let steps = quick ? 60 : 300, lr = 0.5
        Descent.manualSeed(6)
        let (x, y) = circleData(512)
        var table = [["activation", "dead at start", "dead after training", "negative for every input", "final loss"]]
        var numbers: [String: Double] = [:], series: [Series] = []
        for (label, activation) in [("ReLU", { ReLU() as Module }), ("Leaky ReLU (0.01)", { LeakyReLU() })] {
            Descent.manualSeed(7)
            let model = deepMLP(depth: 4, width: 64, inputs: 2, outputs: 2, activation: activation)
            let optimizer = SGD(model.parameters(), lr: lr, momentum: 0.9)
            /// The hidden units that output zero for every input (dead: no gradient flows through
            /// them), and those whose input is negative for every input (inactive).
            func census() -> (dead: Double, negative: Double) {
                withNoGrad {
                    var h = x, dead = 0, negative = 0, total = 0
                    for layer in model.layers.dropLast() {
                        let pre = layer is Linear ? nil : h
                        h = layer(h)
                        if let pre {
                            dead += Int(h.abs().amax(dims: [0]).eq(0).sum().itemDouble)
                            negative += Int(pre.amax(dims: [0]).le(0).sum().itemDouble)
                            total += h.shape[1]
                        }
                    }
                    return (Double(dead) / Double(total), Double(negative) / Double(total))
                }
            }
            var counts = [census()]
            let loss = descend(optimizer, steps: steps, { crossEntropy(model(x), y) }, after: { _ in counts.append(census()) }).last!
            table.append([label, String(format: "%.1f%%", 100 * counts.first!.dead), String(format: "%.1f%%", 100 * counts.last!.dead),
                          String(format: "%.1f%%", 100 * counts.last!.negative), fmt(loss)])
            series.append(Series(label, counts.enumerated().map { (Double($0.offset), 100 * $0.element.dead) }))
            let key = label.hasPrefix("ReLU") ? "relu" : "leaky"
            numbers["\(key)_dead_fraction"] = counts.last!.dead
            numbers["\(key)_negative_fraction"] = counts.last!.negative
            numbers["\(key)_final_loss"] = loss
        }
        let relu = numbers["relu_dead_fraction"]!, leaky = numbers["leaky_dead_fraction"]!
        let holds = relu > 0.1 && relu > 2 * leaky
        let verdict = holds
            ? "Confirmed: after \(steps) steps at learning rate \(lr), \(String(format: "%.0f", 100 * relu))% of the ReLU units output zero for every input (dead) against \(String(format: "%.0f", 100 * leaky))% with Leaky ReLU, whose \(String(format: "%.0f", 100 * numbers["leaky_negative_fraction"]!))% negative units still pass a gradient."
            : "Not confirmed in this run: \(String(format: "%.0f", 100 * relu))% dead ReLU units against \(String(format: "%.0f", 100 * leaky))% with Leaky ReLU."
        let chart = LineChart(title: "Units that output zero for every input, during training (lr \(lr))", xLabel: "step", yLabel: "dead units (%)", series: series)
        return LabReport(name: name, title: "Dying ReLU and Leaky ReLU",
                         claim: "Under a large learning rate ReLU units die (output zero for every input); Leaky ReLU keeps them alive.",
                         table: table, holds: holds, verdict: verdict, numbers: numbers, figures: [("dead-units.svg", chart.svg())])
    }
}
