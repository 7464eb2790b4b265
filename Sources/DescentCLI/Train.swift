import ArgumentParser
import Descent
import DescentPlot
import Foundation

/// Trains an image classifier on the embedded digits (by default), an MNIST-style IDX folder
/// or a CSV file, with the library's DataLoader, optimizers, schedules and checkpoints.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an image classifier (default: a small CNN on the embedded digits) and save checkpoints, metrics and a plot.")

    enum OptimizerKind: String, ExpressibleByArgument, CaseIterable { case sgd, adam, adamw, rmsprop, adagrad }
    enum ScheduleKind: String, ExpressibleByArgument, CaseIterable {
        case none, step, cosine, onecycle, plateau, warmupCosine = "warmup-cosine"
    }

    @Option(help: "Model: mlp, cnn, cnn-bn, lstm or gru (the recurrent ones read the image row by row).")
    var model: ModelKind = .cnnBN
    @OptionGroup var data: DataOptions
    @Option(help: "Passes over the training data.") var epochs = 20
    @Option(help: "Examples per batch.") var batchSize = 64
    @Option(help: "Optimizer: sgd, adam, adamw, rmsprop or adagrad.") var optimizer: OptimizerKind = .adam
    @Option(help: "Learning rate (peak rate for onecycle).") var lr = 1e-3
    @Option(help: "Momentum (sgd, rmsprop).") var momentum = 0.9
    @Option(help: "Weight decay of the weights (biases and norms get none).") var weightDecay = 0.0
    @Option(help: "Schedule: none, step, cosine, onecycle, plateau or warmup-cosine.") var schedule: ScheduleKind = .none
    @Option(help: "Clip the gradients' total L2 norm to this (0: no clipping).") var clip = 0.0
    @Option(help: "Fraction of the training data held out for validation (0: none).") var valSplit = 0.0
    @Option(help: "Random seed (weights, shuffling, splits).") var seed: UInt64 = 0
    @Option(help: "Folder for checkpoints, metrics and plots.") var output = "runs/train"
    @Flag(help: "Continue from the output folder's last checkpoint (same flags; --epochs may grow).") var resume = false
    @Option(help: "Stop after this epoch (the schedule still spans --epochs); continue later with --resume.") var stopAfter: Int?
    @Flag(help: "Check every op's output and gradient for NaN and infinity; stop at the first with the op and where it was called (slow).")
    var detectAnomaly = false
    @Flag(help: "Under mpirun: normalize with the statistics of the global batch (SyncBatchNorm), not of each rank's share.")
    var syncBatchNorm = false
    @Flag(help: "bfloat16 autocast: matmuls, convolutions and recurrent products take bfloat16 operands (float32 accumulation; weights, gradients and optimizer state stay float32).")
    var autocast = false
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let ranks = ProcessGroup.launcherWorldSize, batchSize % ranks != 0 {
            throw ValidationError("--batch-size \(batchSize) does not split over \(ranks) ranks; give a multiple of \(ranks)")
        }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard momentum >= 0, momentum < 1 else { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw ValidationError("--weight-decay must be 0 or positive, got \(weightDecay)") }
        guard clip >= 0, clip.isFinite else { throw ValidationError("--clip must be 0 or positive, got \(clip)") }
        guard valSplit >= 0, valSplit < 1 else { throw ValidationError("--val-split must be in [0, 1), got \(valSplit)") }
        guard !output.isEmpty else { throw ValidationError("--output must name a folder") }
        if let stopAfter, stopAfter < 1 || stopAfter > epochs {
            throw ValidationError("--stop-after must be between 1 and --epochs (\(epochs)), got \(stopAfter)")
        }
    }

    /// The flags that define the run; a resume must give the same ones.
    var recipe: [String: String] {
        ["model": model.rawValue, "data": data.name, "batch-size": "\(batchSize)", "optimizer": optimizer.rawValue, "lr": "\(lr)",
         "momentum": "\(momentum)", "weight-decay": "\(weightDecay)", "schedule": schedule.rawValue, "clip": "\(clip)",
         "val-split": "\(valSplit)", "seed": "\(seed)", "label-column": data.labelColumn.rawValue]
    }

    func run() throws {
        try common.apply()
        let launch = try TrainLaunch.start()
        try launch.run { try train(launch) }
    }

    /// The run, on one process or on each rank of `mpirun` (rank 0 prints and writes files).
    func train(_ launch: TrainLaunch) throws {
        func print(_ line: String) { if launch.isLeader { Swift.print(line) } }
        let (trainAll, test) = try data.load()
        let shape = Array(trainAll.images.shape.dropFirst())
        guard trainAll.classes >= 2 else { throw CLIError("the training data has \(trainAll.classes) class; at least 2 are needed") }
        guard model.accepts(height: shape[1], width: shape[2]) else {
            throw CLIError("--model \(model.rawValue) needs images of at least 4×4 pixels, got \(shape[1])×\(shape[2])")
        }
        var train = trainAll, validation: ImageDataset? = nil
        if valSplit > 0 {
            var g = Generator(seed: seed &+ 2)
            var order = Array(0..<trainAll.count)
            order.shuffle(using: &g)
            let n = Int((Double(trainAll.count) * valSplit).rounded())
            guard n >= 1, n < trainAll.count else { throw CLIError("--val-split \(valSplit) leaves no validation or no training examples") }
            validation = trainAll.subset(Array(order[..<n]))
            train = trainAll.subset(Array(order[n...]))
        }
        let folder = URL(fileURLWithPath: output)
        let lastPath = folder.appendingPathComponent("last.safetensors").path
        var resumed: Checkpoint? = nil
        if resume {
            guard FileManager.default.fileExists(atPath: lastPath) else {
                throw CLIError("--resume: no checkpoint at \(lastPath)")
            }
            resumed = try Checkpoint.load(from: lastPath)
            for (flag, value) in recipe.sorted(by: { $0.key < $1.key }) where resumed!.metadata[flag] != value {
                throw CLIError("--resume: the checkpoint was trained with --\(flag) \(resumed!.metadata[flag] ?? "(none)"), not \(value)")
            }
            // A run killed after its last checkpoint but before model.safetensors resumes to write it.
            let finished = FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path)
            guard resumed!.epoch < epochs || (resumed!.epoch == epochs && !finished) else {
                throw CLIError("--resume: the checkpoint has already trained \(resumed!.epoch) epochs; ask for more with --epochs")
            }
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CLIError("--output: cannot create the folder \(output)")
        }

        let modelMetadata = TrainedModel.metadata(recipe: recipe, inputShape: shape, classes: trainAll.classes)
        Descent.manualSeed(seed)
        let net = model.build(channels: shape[0], height: shape[1], width: shape[2], classes: trainAll.classes)
        let group = launch.group
        let sampler = launch.isDistributed ? DistributedSampler(count: train.count, replicas: group.worldSize, rank: group.rank, seed: seed &+ 1) : nil
        let loader = DataLoader(train, batchSize: try launch.localBatchSize(batchSize), shuffle: sampler == nil,
                                generator: Generator(seed: seed &+ 1), sampler: sampler)
        let opt = makeOptimizer(net)
        let sched = makeSchedule(opt, stepsPerEpoch: loader.count)
        var startEpoch = 0, step = 0
        var history: [[String: Double]] = [], lines: [String] = []
        if let resumed {
            do {
                try net.loadStateDict(resumed.model)
                try opt.loadStateDict(resumed.optimizer)
                if let sched { try sched.loadStateDict(resumed.scheduler) }
            } catch {
                throw CLIError("--resume: \(lastPath) does not fit this model and optimizer: \(error)")
            }
            startEpoch = resumed.epoch
            step = resumed.step
            if let g = resumed.generators["loader"] { loader.generator = g }
            if let g = resumed.generators["global"] { Descent.generator = g }
            (history, lines) = readHistory(folder.appendingPathComponent("metrics.jsonl").path, upTo: startEpoch)
        }
        let trainer = try launch.wrap(net, syncBatchNorm: syncBatchNorm)

        print("\(data.name): \(train.count) training\(validation.map { ", \($0.count) validation" } ?? ""), \(test.count) test images of \(shape.map(String.init).joined(separator: "×")), \(trainAll.classes) classes")
        print("model \(model.rawValue) (\(net.parameterCount) parameters), \(optimizer.rawValue) lr \(lr), schedule \(schedule.rawValue), batch \(batchSize), \(launch.description)"
              + (resumed != nil ? ", resuming after epoch \(startEpoch)" : ""))
        var best = history.map { $0["test_accuracy"] ?? 0 }.max() ?? -1
        let progress = Progress(enabled: !launch.isDistributed)
        let started = Date()
        for epoch in (startEpoch + 1)..<(epochs + 1) {
            trainer.train()
            sampler?.epoch = epoch
            progress.begin()
            let epochStart = Date()
            var lossSum = 0.0, correct = 0, seen = 0, batchIndex = 0
            for batch in loader {
                batchIndex += 1
                var logits = batch.inputs, value = 0.0
                func forwardBackward() {
                    logits = withAutocast(enabled: autocast) { trainer(batch.inputs) }
                    let loss = crossEntropy(logits, batch.targets)
                    value = loss.itemDouble
                    guard value.isFinite else { return }
                    opt.zeroGrad()
                    loss.backward()
                }
                let kept = epoch > startEpoch + 1 || startEpoch > 0
                    ? "stopping (the last checkpoint, after epoch \(epoch - 1), is kept)" : "stopping before the first checkpoint"
                if detectAnomaly {
                    do { try withAnomalyDetection(forwardBackward) } catch let anomaly as AnomalyError {
                        throw CLIError("a value stopped being finite at epoch \(epoch), batch \(batchIndex): \(anomaly); \(kept)")
                    }
                } else {
                    forwardBackward()
                }
                guard value.isFinite else {
                    throw CLIError("the loss became \(value) at epoch \(epoch), batch \(batchIndex); \(kept). Try a lower --lr or --clip, or --detect-anomaly to find the op that made it")
                }
                if clip > 0 { try clipGradNorm(opt.parameters, maxNorm: clip) }
                opt.step()
                step += 1
                launch.faultPoint(step: step)
                if schedule == .onecycle { sched?.step() }
                lossSum += value * Double(batch.count)
                correct += withNoGrad { logits.argmax(dim: 1).eq(batch.targets).sum().itemDouble }.exactInt
                seen += batch.count
                progress.update(done: batchIndex, total: loader.count, loss: lossSum / Double(seen), samples: seen)
            }
            progress.end()
            let seconds = Date().timeIntervalSince(epochStart)
            // Every rank evaluates with rank 0's running statistics, so all take the same decisions.
            (trainer as? DistributedDataParallel)?.syncBuffers()
            let totals = launch.sum([lossSum, Double(correct), Double(seen)])
            (lossSum, correct, seen) = (totals[0], totals[1].exactInt, totals[2].exactInt)
            let testEval = Evaluation.run(net, on: test), valEval = validation.map { Evaluation.run(net, on: $0) }
            var row: [String: Double] = ["epoch": Double(epoch), "train_loss": lossSum / Double(max(seen, 1)),
                                         "train_accuracy": Double(correct) / Double(max(seen, 1)), "test_loss": testEval.loss,
                                         "test_accuracy": testEval.accuracy, "lr": opt.lr, "seconds": seconds]
            if let valEval { row["val_loss"] = valEval.loss; row["val_accuracy"] = valEval.accuracy }
            switch schedule {
            case .onecycle, .none: break
            case .plateau: (sched as? ReduceLROnPlateau)?.step(valEval?.loss ?? testEval.loss)
            default: sched?.step()
            }
            history.append(row)
            lines.append(jsonLine(row))
            print(String(format: "epoch %d/%d: train loss %.4f, accuracy %.2f%%", epoch, epochs, row["train_loss"]!, 100 * row["train_accuracy"]!)
                  + (valEval.map { String(format: "; validation loss %.4f, accuracy %.2f%%", $0.loss, 100 * $0.accuracy) } ?? "")
                  + String(format: "; test loss %.4f, accuracy %.2f%% (%.1fs, %.0f samples/s)", testEval.loss, 100 * testEval.accuracy,
                           seconds, Double(seen) / max(seconds, 1e-9)))
            let checkpoint = Checkpoint(model: net.stateDict(), optimizer: opt.stateDict(), scheduler: sched?.stateDict() ?? StateDict(),
                                        epoch: epoch, step: step, generators: ["loader": loader.generator, "global": Descent.generator],
                                        metadata: modelMetadata)
            let score = valEval?.accuracy ?? testEval.accuracy
            if launch.isLeader {
                try checkpoint.save(to: lastPath)
                if score > best { try checkpoint.save(to: folder.appendingPathComponent("best.safetensors").path) }
                try writeHistory(history, lines: lines, to: folder)
            }
            best = max(best, score)
            if let stopAfter, epoch == stopAfter, epoch < epochs {
                print("stopped after epoch \(epoch) of \(epochs); continue with --resume")
                return
            }
        }
        (trainer as? DistributedDataParallel)?.syncBuffers()
        if let agreement = try launch.checkIdentical(net) { print(agreement) }
        guard launch.isLeader else { return }
        let final = Evaluation.run(net, on: test)
        print(final.confusionTable())
        try net.stateDict().save(to: folder.appendingPathComponent("model.safetensors").path, metadata: modelMetadata.merging(["format": "pt"]) { a, _ in a })
        print(String(format: "test accuracy %.2f%% after %d epoch%@ (%.1fs); wrote %@/{last,best,model}.safetensors, metrics.jsonl, training.svg",
                     100 * final.accuracy, epochs, epochs == 1 ? "" : "s", Date().timeIntervalSince(started), output))
    }

    /// The optimizer, with weight decay on the weights only (no decay on biases and norms).
    func makeOptimizer(_ net: Module) -> any Optimizer {
        let named = net.namedParameters()
        let decayed = named.filter { $0.tensor.rank > 1 }.map(\.tensor), rest = named.filter { $0.tensor.rank <= 1 }.map(\.tensor)
        let groups = [ParameterGroup(decayed, weightDecay: weightDecay), ParameterGroup(rest, weightDecay: 0)].filter { !$0.parameters.isEmpty }
        switch optimizer {
        case .sgd: return SGD(groups, lr: lr, momentum: momentum)
        case .adam: return Adam(groups, lr: lr)
        case .adamw: return AdamW(groups, lr: lr)
        case .rmsprop: return RMSprop(groups, lr: lr, momentum: momentum)
        case .adagrad: return Adagrad(groups, lr: lr)
        }
    }

    /// The schedule, if any: step (÷10 at ½ and ¾ of the epochs), cosine, 1cycle (per batch),
    /// plateau (on the validation or test loss), or a 2-epoch linear warm-up then cosine.
    func makeSchedule(_ opt: any Optimizer, stepsPerEpoch: Int) -> LRScheduler? {
        switch schedule {
        case .none: return nil
        case .step: return MultiStepLR(opt, milestones: [epochs / 2, epochs * 3 / 4], gamma: 0.1)
        case .cosine: return CosineAnnealingLR(opt, tMax: epochs)
        case .onecycle: return OneCycleLR(opt, maxLR: lr, totalSteps: max(1, epochs * stepsPerEpoch))
        case .plateau: return ReduceLROnPlateau(opt, factor: 0.5, patience: 2)
        case .warmupCosine:
            return ChainedScheduler([LinearLR(opt, startFactor: 0.1, totalIters: min(2, epochs)), CosineAnnealingLR(opt, tMax: epochs)])
        }
    }

    /// One epoch's metrics as a JSON object on one line.
    func jsonLine(_ row: [String: Double]) -> String {
        "{" + row.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.key == "epoch" ? String(Int($0.value)) : String($0.value))" }
            .joined(separator: ", ") + "}"
    }

    /// metrics.jsonl (one JSON object per epoch) and training.svg (loss and accuracy per epoch).
    func writeHistory(_ history: [[String: Double]], lines: [String], to folder: URL) throws {
        try (lines.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        func series(_ key: String, _ name: String) -> Series? {
            history.contains { $0[key] != nil } ? Series(name, history.map { ($0["epoch"]!, $0[key] ?? .nan) }) : nil
        }
        let loss = LineChart(title: "Loss", xLabel: "epoch", yLabel: "cross-entropy (log scale)",
                             series: [series("train_loss", "train"), series("val_loss", "validation"), series("test_loss", "test")].compactMap { $0 },
                             logY: true)
        let accuracy = LineChart(title: "Accuracy", xLabel: "epoch", yLabel: "accuracy",
                                 series: [series("train_accuracy", "train"), series("val_accuracy", "validation"), series("test_accuracy", "test")].compactMap { $0 })
        try LineChart.stack([loss, accuracy]).write(to: folder.appendingPathComponent("training.svg"), atomically: true, encoding: .utf8)
    }

    /// The first `upTo` epochs of an earlier run's metrics.jsonl (for the plot and the file of a
    /// resumed run): the parsed values and the lines as written.
    func readHistory(_ path: String, upTo epochs: Int) -> ([[String: Double]], [String]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return ([], []) }
        var rows: [[String: Double]] = [], kept: [String] = []
        for line in text.split(separator: "\n") {
            guard let data = line.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            let row = object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
            guard let epoch = row["epoch"], epoch <= Double(epochs) else { continue }
            rows.append(row)
            kept.append(String(line))
        }
        return (rows, kept)
    }
}

extension Double {
    /// The value as an Int (it is a whole count).
    var exactInt: Int { Int(self.rounded()) }
}
