import ArgumentParser
import Descent

/// Trains a small two-layer network on the two-spirals problem with the library's layers,
/// loss and optimizer, printing the loss as it falls.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a tiny network (two spirals, 2-64-64-2 MLP) and print its loss falling.")

    @Option(help: "Passes over the data.") var epochs = 500
    @Option(help: "Learning rate of gradient descent.") var lr = 0.1
    @Option(help: "Momentum of gradient descent (heavy ball, as PyTorch's SGD).") var momentum = 0.9
    @Option(help: "Hidden units per layer.") var hidden = 64
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Print the loss every this many epochs.") var every = 50
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard momentum >= 0, momentum < 1 else { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        guard hidden >= 1 else { throw ValidationError("--hidden must be at least 1, got \(hidden)") }
        guard every >= 1 else { throw ValidationError("--every must be at least 1, got \(every)") }
    }

    func run() throws {
        try common.apply()
        Descent.manualSeed(seed)
        let (x, y) = spirals(perClass: 200)
        let model = Sequential {
            Linear(2, hidden)
            Tanh()
            Linear(hidden, hidden)
            Tanh()
            Linear(hidden, 2)
        }
        let optimizer = SGD(model.parameters(), lr: lr, momentum: momentum)
        print("two spirals: \(x.shape[0]) points, MLP 2-\(hidden)-\(hidden)-2, SGD lr \(lr) momentum \(momentum)")
        for epoch in 1...epochs {
            let logits = model(x)
            let loss = crossEntropy(logits, y)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            if epoch == 1 || epoch % every == 0 || epoch == epochs {
                let accuracy = withNoGrad { logits.argmax(dim: 1).eq(y).float().mean().item }
                print("epoch \(epoch): loss \(String(format: "%.4f", loss.item)), accuracy \(String(format: "%.1f", 100 * accuracy))%")
            }
        }
    }

    /// Two interleaved spirals, `perClass` points each, with a little noise.
    func spirals(perClass n: Int) -> (Tensor, Tensor) {
        var points: [Float] = [], labels: [Int64] = []
        for c in 0..<2 {
            for i in 0..<n {
                let r = Double(i) / Double(n) * 5 + 0.3
                let t = 1.25 * Double(i) / Double(n) * 2 * .pi + Double(c) * .pi
                let noise = Tensor.randn([2]).scalars.map { Double($0) * 0.1 }
                points += [Float(r * cos(t) + noise[0]) / 5, Float(r * sin(t) + noise[1]) / 5]
                labels.append(Int64(c))
            }
        }
        return (Tensor(shape: [2 * n, 2], scalars: points), Tensor(labels))
    }
}

import Foundation
