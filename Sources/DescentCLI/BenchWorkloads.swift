import ArgumentParser
import Descent
import Foundation

/// The workloads of ../shared/bench/torch_reference.py, built the same way in Descent: one
/// training step (zero grads, forward, loss, backward, SGD update) or the stated op.
struct Workloads: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Median milliseconds of the reference workloads (same shapes and steps as PyTorch's torch_reference.py).")

    @Option(help: "Timed repetitions per workload (median reported).") var reps = 30
    @Option(help: "Only workloads whose name contains this text.") var filter: String?
    @Flag(help: "Print one JSON object instead of lines.") var json = false
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard reps >= 1 else { throw ValidationError("--reps must be at least 1, got \(reps)") }
    }

    /// zero grads, forward (under bfloat16 autocast with `autocast`), cross-entropy, backward,
    /// SGD update: the reference's `train_step` and `autocast_step`.
    static func trainStep(_ model: Module, _ x: Tensor, _ y: Tensor, autocast: Bool = false) -> () -> Void {
        let opt = SGD(model.parameters(), lr: 0.01)
        return {
            opt.zeroGrad()
            let loss = withAutocast(enabled: autocast) { crossEntropy(model(x), y) }
            loss.backward()
            opt.step()
        }
    }

    /// The reference CNN (Conv-(BN)-ReLU-Pool twice and a linear layer) for 28×28 images:
    /// `descent train`'s cnn and cnn-bn models.
    static func cnn(batchNorm: Bool) -> Module {
        (batchNorm ? ModelKind.cnnBN : ModelKind.cnn).build(channels: 1, height: 28, width: 28, classes: 10)
    }

    func run() throws {
        try common.apply()
        Descent.manualSeed(0)
        var results: [(String, Double)] = []
        func time(_ name: String, reps r: Int? = nil, warmup: Int = 5, _ body: () -> Void) {
            if let filter, !name.contains(filter) { return }
            results.append((name, medianMilliseconds(reps: r ?? reps, warmup: warmup, body)))
        }
        let mlp = Sequential { Linear(784, 256); ReLU(); Linear(256, 256); ReLU(); Linear(256, 10) }
        time("mlp_train_b64", Self.trainStep(mlp, Tensor.randn([64, 784]), Tensor.randint([64], high: 10)))
        let cnn = Self.cnn(batchNorm: false)
        time("cnn_train_b64", Self.trainStep(cnn, Tensor.randn([64, 1, 28, 28]), Tensor.randint([64], high: 10)))
        let cnnbn = Self.cnn(batchNorm: true)
        time("cnn_bn_train_b64", Self.trainStep(cnnbn, Tensor.randn([64, 1, 28, 28]), Tensor.randint([64], high: 10)))

        for (name, makeRNN) in [("lstm", { LSTM(64, 128, batchFirst: true) as RecurrentLayer }), ("gru", { GRU(64, 128, batchFirst: true) })] {
            let rnn = makeRNN(), head = Linear(128, 1)
            let x = Tensor.randn([32, 50, 64]), y = Tensor.randn([32, 1])
            let opt = SGD(rnn.parameters() + head.parameters(), lr: 0.01)
            time("\(name)_train_s50_b32_h128") {
                opt.zeroGrad()
                // head(rnn(x)[0][:, -1])
                mseLoss(head(rnn(x).select(dim: 1, index: -1)), y).backward()
                opt.step()
            }
        }
        let conv = Conv2d(64, 64, kernelSize: 3, padding: 1)
        let x = Tensor.randn([16, 64, 32, 32]).requiringGrad()
        time("conv3x3_64_fwdbwd_b16_32x32", reps: max(10, reps / 3)) {
            conv.zeroGrad(); x.grad = nil
            conv(x).sum().backward()
        }
        let deconv = ConvTranspose2d(64, 32, kernelSize: 4, stride: 2, padding: 1)
        let xd = Tensor.randn([16, 64, 16, 16]).requiringGrad()
        time("convT4x4s2_64to32_fwdbwd_b16_16x16", reps: max(10, reps / 3)) {
            deconv.zeroGrad(); xd.grad = nil
            deconv(xd).sum().backward()
        }
        let bn = BatchNorm2d(64)
        let xb = Tensor.randn([32, 64, 32, 32]).requiringGrad()
        time("bn2d_fwdbwd_32x64x32x32", reps: max(10, reps / 3)) {
            bn.zeroGrad(); xb.grad = nil
            bn(xb).sum().backward()
        }
        let resnet = BenchModels.resnet()
        let xr = Tensor.randn([32, 3, 32, 32]), yr = Tensor.randint([32], high: 10)
        time("resnet_train_b32_32x32", reps: max(10, reps / 3), Self.trainStep(resnet, xr, yr))

        // The same steps under bfloat16 autocast (the reference's autocast_step).
        time("mlp_train_b64_bf16", Self.trainStep(mlp, Tensor.randn([64, 784]), Tensor.randint([64], high: 10), autocast: true))
        time("cnn_train_b64_bf16", Self.trainStep(cnn, Tensor.randn([64, 1, 28, 28]), Tensor.randint([64], high: 10), autocast: true))
        time("resnet_train_b32_32x32_bf16", reps: max(10, reps / 3), Self.trainStep(resnet, xr, yr, autocast: true))
        time("conv3x3_64_fwdbwd_b16_32x32_bf16", reps: max(10, reps / 3)) {
            conv.zeroGrad(); x.grad = nil
            let y = withAutocast { conv(x) }
            y.sum().backward()
        }
        let a16 = Tensor.randn([1024, 1024]).to(.bfloat16), b16 = Tensor.randn([1024, 1024]).to(.bfloat16)
        time("bgemm_1024_bf16_ms", reps: 20) { _ = a16.matmul(b16) }
        if let ms = results.last(where: { $0.0 == "bgemm_1024_bf16_ms" })?.1 {
            results.removeLast()
            results.append(("bgemm_1024_bf16_gflops", 2 * pow(1024.0, 3) / (ms / 1e3) / 1e9))
        }

        cnn.eval()
        let x1 = Tensor.randn([1, 1, 28, 28])
        time("cnn_infer_b1", reps: 200 * (reps / 30 + 1), warmup: 20) { withNoGrad { _ = cnn(x1) } }
        let a = Tensor.randn([1024, 1024]), b = Tensor.randn([1024, 1024])
        time("sgemm_1024_ms", reps: 20) { _ = a.matmul(b) }
        if let ms = results.last(where: { $0.0 == "sgemm_1024_ms" })?.1 {
            results.append(("sgemm_1024_gflops", 2 * pow(1024.0, 3) / (ms / 1e3) / 1e9))
        }
        if json {
            print("{" + results.map { "\"\($0.0)\": \(String(format: "%.4f", $0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (name, v) in results { print("\(name) \(String(format: "%.4f", v))") }
        }
    }
}
