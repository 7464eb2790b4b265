import ArgumentParser
import Descent

/// Trips one of the library's programming-error checks on purpose, so that tests can read the
/// message the program stops with, in a child process (and in a release build: the checks keep
/// their text under -O). `descent check-message NAME`; not listed in --help.
struct CheckMessage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-message", abstract: "Stop on a programming error (for tests).", shouldDisplay: false)

    @Argument(help: "The case to trip (default: linear).") var name = "linear"

    /// Programming errors a user makes, by name: wrong shapes, dtypes, dimensions, indices and
    /// arguments.
    static let cases: [String: () -> Void] = [
        "linear": { _ = Linear(1568, 10)(Tensor.randn([8, 784])) },
        "linear-dtype": { _ = Linear(4, 2)(Tensor.randn([1, 4], dtype: .float64)) },
        "matmul": { _ = Tensor.randn([2, 3]).matmul(Tensor.randn([4, 5])) },
        "mm-rank": { _ = Tensor.randn([2, 3, 4]).mm(Tensor.randn([4, 2])) },
        "broadcast": { _ = Tensor.randn([2, 3]) + Tensor.randn([4]) },
        "conv2d-channels": { _ = Conv2d(3, 8, kernelSize: 3)(Tensor.randn([1, 1, 8, 8])) },
        "conv2d-rank": { _ = Conv2d(1, 8, kernelSize: 3)(Tensor.randn([8, 8])) },
        "conv2d-too-small": { _ = Conv2d(1, 1, kernelSize: 5)(Tensor.randn([1, 1, 3, 3])) },
        "conv1d-groups": { _ = Conv1d(3, 4, kernelSize: 1, groups: 2) },
        "maxpool1d-rank": { _ = MaxPool1d(2)(Tensor.randn([2])) },
        "batchnorm-features": { _ = BatchNorm2d(3)(Tensor.randn([2, 4, 5, 5])) },
        "batchnorm-one-value": { _ = BatchNorm1d(3)(Tensor.randn([1, 3])) },
        "lstm-input": { _ = LSTM(4, 8)(Tensor.randn([5, 2, 3])) },
        "embedding-dtype": { _ = Embedding(10, 3)(Tensor.randn([2])) },
        "cross-entropy-target": { _ = crossEntropy(Tensor.randn([4, 3]), Tensor([0, 1])) },
        "mse-shapes": { _ = mseLoss(Tensor.randn([4, 3]), Tensor.randn([4])) },
        "reshape": { _ = Tensor.randn([2, 3]).reshape([4]) },
        "view-strides": { _ = Tensor.randn([2, 3]).t.view([6]) },
        "permute-count": { _ = Tensor.randn([2, 3]).permute([0]) },
        "permute-repeat": { _ = Tensor.randn([2, 3]).permute([0, 0]) },
        "transpose-rank": { _ = Tensor.randn([2, 3, 4]).t },
        "expand": { _ = Tensor.randn([2, 3]).expand([3]) },
        "select-index": { _ = Tensor.randn([2, 3])[5] },
        "unsqueeze-dim": { _ = Tensor.randn([2]).unsqueeze(3) },
        "narrow": { _ = Tensor.randn([4]).narrow(dim: 0, start: 2, length: 3) },
        "item": { _ = Tensor.randn([2]).itemDouble },
        "stack-sizes": { _ = Tensor.stack([Tensor.randn([2]), Tensor.randn([3])]) },
        "cat-empty": { _ = Tensor.cat([]) },
        "cat-shapes": { _ = Tensor.cat([Tensor.randn([2, 3]), Tensor.randn([2, 4])], dim: 0) },
        "one-hot-range": { _ = Tensor([5]).oneHot(numClasses: 3) },
        "one-hot-dtype": { _ = Tensor.randn([2]).oneHot() },
        "backward-non-scalar": { (Tensor.randn([2]).requiringGrad() * 2).backward() },
        "backward-no-grad": { Tensor.randn([1]).backward() },
        "backward-twice": {
            let x = Tensor.randn([3]).requiringGrad()
            let y = (x * x).sum()
            y.backward()
            y.backward()
        },
        "dropout-p": { _ = Dropout(p: 1.5) },
        "sgd-lr": { _ = SGD([Tensor.randn([2]).requiringGrad()], lr: -1) },
        "arange-step": { _ = Tensor.arange(0, 5, step: 0) },
        "randint-range": { _ = Tensor.randint([2], low: 5, high: 5) },
        "zeros-negative": { _ = Tensor.zeros([-1]) },
        "data-loader-batch": { _ = DataLoader(TensorDataset(inputs: Tensor.randn([4, 2]), targets: Tensor([0, 1, 0, 1])), batchSize: 0) },
    ]

    func validate() throws {
        guard Self.cases[name] != nil else {
            throw ValidationError("unknown case '\(name)'; cases: \(Self.cases.keys.sorted().joined(separator: ", "))")
        }
    }

    func run() throws { Self.cases[name]!() }
}
