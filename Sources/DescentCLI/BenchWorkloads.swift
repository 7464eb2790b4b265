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
    @Flag(help: "--filter names one workload exactly.") var exact = false
    @Option(help: "Batch size of the MLP, CNN and ResNet steps (default: the reference's 64 and 32; names say which).")
    var batchSize: Int?
    @Flag(help: "Also report the process's peak resident memory (max_rss_mb).") var memory = false
    @Flag(help: "Print one JSON object instead of lines.") var json = false
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard reps >= 1 else { throw ValidationError("--reps must be at least 1, got \(reps)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if exact && filter == nil { throw ValidationError("--exact needs --filter with a workload's name") }
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
        // A workload's data and model are made only when it is selected (so that a run of one
        // workload holds only its own memory: Scripts/bench_compare.py memory).
        var cpuWarm = false, names: [String] = []
        func time(_ name: String, reps r: Int? = nil, warmup: Int = 5, _ setup: () -> () -> Void) {
            names.append(name)
            if let filter, exact ? name != filter : !name.contains(filter) { return }
            let body = setup()
            if !cpuWarm {
                // The first workload first runs for half a second: a CPU that was idle runs
                // slowly for a while (measured here: the first 30 MLP steps after a pause took
                // 1.4–3.8 ms, after a busy second 1.0–1.1 ms), and PyTorch's process has spent
                // seconds importing before its first workload.
                let start = DispatchTime.now().uptimeNanoseconds
                while DispatchTime.now().uptimeNanoseconds - start < 500_000_000 { body() }
                cpuWarm = true
            }
            results.append((name, medianMilliseconds(reps: r ?? reps, warmup: warmup, body)))
        }
        // --batch-size: the MLP, CNN and ResNet steps at another batch (names say which).
        let b64 = batchSize ?? 64, b32 = batchSize ?? 32
        let mlp = Sequential { Linear(784, 256); ReLU(); Linear(256, 256); ReLU(); Linear(256, 10) }
        let cnn = Self.cnn(batchNorm: false)
        let resnet = BenchModels.resnet()
        time("mlp_train_b\(b64)") { Self.trainStep(mlp, Tensor.randn([b64, 784]), Tensor.randint([b64], high: 10)) }
        time("cnn_train_b\(b64)") { Self.trainStep(cnn, Tensor.randn([b64, 1, 28, 28]), Tensor.randint([b64], high: 10)) }
        time("cnn_bn_train_b\(b64)") {
            Self.trainStep(Self.cnn(batchNorm: true), Tensor.randn([b64, 1, 28, 28]), Tensor.randint([b64], high: 10))
        }
        for (name, makeRNN) in [("lstm", { LSTM(64, 128, batchFirst: true) as RecurrentLayer }), ("gru", { GRU(64, 128, batchFirst: true) })] {
            // The step, then the same step under autocast (`_bf16`: not in the reference script;
            // its PyTorch side is Scripts/bench_torch_one.py's lstm_bf16 and gru_bf16).
            for autocast in [false, true] {
                time("\(name)_train_s50_b32_h128" + (autocast ? "_bf16" : "")) {
                    let rnn = makeRNN(), head = Linear(128, 1)
                    let x = Tensor.randn([32, 50, 64]), y = Tensor.randn([32, 1])
                    let opt = SGD(rnn.parameters() + head.parameters(), lr: 0.01)
                    return {
                        opt.zeroGrad()
                        // head(rnn(x)[0][:, -1])
                        withAutocast(enabled: autocast) { mseLoss(head(rnn(x).select(dim: 1, index: -1)), y) }.backward()
                        opt.step()
                    }
                }
            }
        }
        let conv = Conv2d(64, 64, kernelSize: 3, padding: 1)
        time("conv3x3_64_fwdbwd_b16_32x32", reps: max(10, reps / 3)) {
            let x = Tensor.randn([16, 64, 32, 32]).requiringGrad()
            return {
                conv.zeroGrad(); x.grad = nil
                conv(x).sum().backward()
            }
        }
        time("convT4x4s2_64to32_fwdbwd_b16_16x16", reps: max(10, reps / 3)) {
            let deconv = ConvTranspose2d(64, 32, kernelSize: 4, stride: 2, padding: 1)
            let xd = Tensor.randn([16, 64, 16, 16]).requiringGrad()
            return {
                deconv.zeroGrad(); xd.grad = nil
                deconv(xd).sum().backward()
            }
        }
        time("bn2d_fwdbwd_32x64x32x32", reps: max(10, reps / 3)) {
            let bn = BatchNorm2d(64)
            let xb = Tensor.randn([32, 64, 32, 32]).requiringGrad()
            return {
                bn.zeroGrad(); xb.grad = nil
                bn(xb).sum().backward()
            }
        }
        time("resnet_train_b\(b32)_32x32", reps: max(10, reps / 3)) {
            Self.trainStep(resnet, Tensor.randn([b32, 3, 32, 32]), Tensor.randint([b32], high: 10))
        }

        // The same steps under bfloat16 autocast (the reference's autocast_step).
        time("mlp_train_b\(b64)_bf16") { Self.trainStep(mlp, Tensor.randn([b64, 784]), Tensor.randint([b64], high: 10), autocast: true) }
        time("cnn_train_b\(b64)_bf16") {
            Self.trainStep(cnn, Tensor.randn([b64, 1, 28, 28]), Tensor.randint([b64], high: 10), autocast: true)
        }
        time("resnet_train_b\(b32)_32x32_bf16", reps: max(10, reps / 3)) {
            Self.trainStep(resnet, Tensor.randn([b32, 3, 32, 32]), Tensor.randint([b32], high: 10), autocast: true)
        }
        time("conv3x3_64_fwdbwd_b16_32x32_bf16", reps: max(10, reps / 3)) {
            let x = Tensor.randn([16, 64, 32, 32]).requiringGrad()
            return {
                conv.zeroGrad(); x.grad = nil
                let y = withAutocast { conv(x) }
                y.sum().backward()
            }
        }
        time("bgemm_1024_bf16_gflops", reps: 20) {
            let a16 = Tensor.randn([1024, 1024]).to(.bfloat16), b16 = Tensor.randn([1024, 1024]).to(.bfloat16)
            return { _ = a16.matmul(b16) }
        }
        if let i = results.firstIndex(where: { $0.0 == "bgemm_1024_bf16_gflops" }) {
            results[i].1 = 2 * pow(1024.0, 3) / (results[i].1 / 1e3) / 1e9
        }
        time("cnn_infer_b1", reps: 200, warmup: 20) {
            let x1 = Tensor.randn([1, 1, 28, 28])
            cnn.eval()
            return { withNoGrad { _ = cnn(x1) } }
        }
        time("sgemm_1024_ms", reps: 20) {
            let a = Tensor.randn([1024, 1024]), b = Tensor.randn([1024, 1024])
            return { _ = a.matmul(b) }
        }
        if let ms = results.last(where: { $0.0 == "sgemm_1024_ms" })?.1 {
            results.append(("sgemm_1024_gflops", 2 * pow(1024.0, 3) / (ms / 1e3) / 1e9))
        }
        if let filter, results.isEmpty {
            throw ValidationError("no workload \(exact ? "is named" : "contains") '\(filter)'; the workloads: \(names.joined(separator: ", "))")
        }
        if memory { results.append(("max_rss_mb", Double(MemoryUsage.peakResidentBytes) / 1e6)) }
        if json {
            print("{" + results.map { "\"\($0.0)\": \(String(format: "%.4f", $0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (name, v) in results { print("\(name) \(String(format: "%.4f", v))") }
        }
    }
}
