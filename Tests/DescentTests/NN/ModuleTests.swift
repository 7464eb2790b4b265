@testable import Descent
import Foundation
import XCTest

final class ModuleTests: XCTestCase {
    /// The CNN of `cnn_model()` in Scripts/make_fixtures.py.
    static func cnn() -> Sequential {
        Sequential {
            Conv2d(1, 4, kernelSize: 3, padding: 1)
            BatchNorm2d(4)
            ReLU()
            MaxPool2d(2)
            Conv2d(4, 8, kernelSize: 3, padding: 1)
            BatchNorm2d(8)
            LeakyReLU(negativeSlope: 0.1)
            ConvTranspose2d(8, 4, kernelSize: 4, stride: 2, padding: 1)
            Tanh()
            Upsample(scaleFactor: 2, mode: .bilinear)
            AvgPool2d(2)
            Flatten()
            Linear(4 * 8 * 8, 5)
        }
    }

    func testStateDictKeysMatchPyTorch() throws {
        let f = try Fixtures.load("cnn_from_pytorch.safetensors")
        let pytorchKeys = f.tensors.map(\.name).filter { $0.hasPrefix("state/") }.map { String($0.dropFirst(6)) }
        XCTAssertEqual(Set(Self.cnn().stateDict().keys), Set(pytorchKeys))
        XCTAssertEqual(Self.cnn().stateDict().keys.prefix(8),
                       ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "4.weight"])
        XCTAssertEqual(Self.cnn().stateDict()["1.num_batches_tracked"]!.dtype, .int64)
    }

    func testPyTorchTrainedCNNLoadsAndGivesTheSameOutputs() throws {
        let f = try Fixtures.load("cnn_from_pytorch.safetensors")
        let state = StateDict(f.tensors.filter { $0.name.hasPrefix("state/") }.map { (String($0.name.dropFirst(6)), $0.tensor) })
        let model = Self.cnn()
        try model.loadStateDict(state)
        model.eval()
        assertClose(withNoGrad { model(f["input"]!) }, f["output"]!, rtol: 1e-4, atol: 1e-5, "CNN output")
    }

    func testDescentCNNStateDictIsWrittenForPyTorch() throws {
        // Trained a few steps so that BatchNorm has running statistics; Scripts/make_fixtures.py
        // loads the committed file with load_state_dict(strict=True) and checks the outputs.
        Descent.manualSeed(11)
        let model = Self.cnn()
        for _ in 0..<3 {
            let loss = crossEntropy(model(Tensor.randn([8, 1, 8, 8])), Tensor.randint([8], high: 5))
            model.zeroGrad()
            loss.backward()
            withNoGrad { for p in model.parameters() { p.addAssign(p.grad!, alpha: -0.1) } }
        }
        model.eval()
        let x = Tensor.randn([3, 1, 8, 8])
        let y = withNoGrad { model(x) }
        let statePath = Fixtures.path("cnn_from_descent.safetensors"), ioPath = Fixtures.path("cnn_from_descent_io.safetensors")
        let io = SafeTensors(tensors: [("input", x), ("output", y)])
        if !FileManager.default.fileExists(atPath: statePath) {
            try model.stateDict().save(to: statePath)
            try io.save(to: ioPath)
            XCTFail("wrote \(statePath); run Scripts/make_fixtures.py to verify it in PyTorch and commit it")
            return
        }
        // The committed files are what PyTorch verified; Descent must still produce them.
        let committed = try StateDict.load(from: statePath)
        XCTAssertEqual(committed.keys, model.stateDict().keys)
        for (k, t) in model.stateDict() { assertClose(t, committed[k]!, rtol: 1e-6, atol: 1e-7, "state \(k)") }
        assertClose(y, try SafeTensors.load(from: ioPath)["output"]!, rtol: 1e-5, atol: 1e-6, "outputs")
    }

    func testStrictLoadingNamesEveryProblemAndChangesNothing() {
        let model = Sequential { Linear(3, 2); ReLU(); Linear(2, 1) }
        var entries = model.stateDict().entries.filter { $0.key != "2.bias" }
        entries[0] = ("0.weight", Tensor.zeros([5, 3]))
        entries.append(("3.weight", Tensor.zeros([1])))
        let before = model.stateDict()["0.bias"]!.scalars
        entries[1] = ("0.bias", Tensor.full([2], 9))
        XCTAssertThrowsError(try model.loadStateDict(StateDict(entries))) { error in
            let e = error as! StateDictError
            XCTAssertEqual(e.missing, ["2.bias"])
            XCTAssertEqual(e.unexpected, ["3.weight"])
            XCTAssertEqual(e.mismatched, ["0.weight: expected (2, 3), found (5, 3)"])
            XCTAssertTrue(e.description.contains("missing keys: 2.bias"))
        }
        XCTAssertEqual(model.stateDict()["0.bias"]!.scalars, before, "a failed load changes nothing")
        // Non-strict loading accepts missing/unexpected keys but never a wrong shape.
        XCTAssertThrowsError(try model.loadStateDict(StateDict(entries), strict: false))
        let ok = entries.filter { $0.key != "0.weight" }
        XCTAssertNoThrow(try model.loadStateDict(StateDict(ok), strict: false))
        XCTAssertEqual(model.stateDict()["0.bias"]!.scalars, [9, 9])
    }

    func testLoadingKeepsParameterIdentity() throws {
        let a = Linear(2, 2), b = Linear(2, 2)
        let w = a.weight
        try a.loadStateDict(b.stateDict())
        XCTAssertTrue(a.weight === w)
        XCTAssertEqual(a.weight.scalars, b.weight.scalars)
        XCTAssertTrue(a.weight.requiresGrad)
    }

    func testDescriptionLikePyTorch() {
        // print(nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        //     nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))) in PyTorch 2.15:
        let model = Sequential {
            Conv2d(1, 16, kernelSize: 3, padding: 1)
            BatchNorm2d(16)
            ReLU()
            MaxPool2d(2)
            Flatten()
            Linear(16 * 4 * 4, 10)
        }
        XCTAssertEqual(model.description, """
        Sequential(
          (0): Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
          (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
          (2): ReLU()
          (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
          (4): Flatten(start_dim=1, end_dim=-1)
          (5): Linear(in_features=256, out_features=10, bias=True)
        )
        """)
        XCTAssertEqual(model.parameterCount, 16 * 9 + 16 + 32 + 2570)
    }

    func testTrainEvalIsRecursiveAndSequentialNumbersEveryChild() {
        let inner = Sequential { Dropout(p: 0.5); Linear(2, 2) }
        let model = Sequential { inner; ReLU() }
        model.eval()
        XCTAssertFalse(inner[0].isTraining)
        model.train()
        XCTAssertTrue(inner[1].isTraining)
        XCTAssertEqual(model.namedParameters().map(\.name), ["0.1.weight", "0.1.bias"])
        let list = ModuleList([Linear(1, 1), Tanh(), Linear(1, 2)])
        XCTAssertEqual(list.namedParameters().map(\.name), ["0.weight", "0.bias", "2.weight", "2.bias"])
    }

    func testDropoutScalesInTrainingAndIsIdentityInEval() {
        Descent.manualSeed(3)
        let d = Dropout(p: 0.25)
        let x = Tensor.ones([100_000])
        let y = d(x)
        let kept = y.gt(0).float().mean().itemDouble
        XCTAssertEqual(kept, 0.75, accuracy: 0.01)
        XCTAssertEqual(Set(y.scalars), [0, Float(1 / 0.75)])
        d.eval()
        XCTAssertEqual(d(x).scalars, x.scalars)
        // Seeded: the same seed gives the same mask.
        Descent.manualSeed(3)
        d.train()
        XCTAssertEqual(d(x).scalars, y.scalars)
    }

    func testBatchNormRejectsOneValuePerChannelInTraining() throws {
        // The check itself stops the process (a programming error); here we check the rule it
        // applies: a (1, C) batch has one value per channel, a (1, C, 2) batch has two.
        let bn = BatchNorm1d(3)
        bn.eval()
        XCTAssertEqual(bn(Tensor.ones([1, 3])).shape, [1, 3], "batch size 1 is fine in eval")
        bn.train()
        XCTAssertEqual(bn(Tensor.randn([1, 3, 2])).shape, [1, 3, 2])
    }
}

final class SmallLayerTests: XCTestCase {
    func testUnflattenFlattenIdentityAndActivationLayers() {
        let x = Tensor.arange(0, 24).reshape(2, 12)
        let u = Unflatten(dim: 1, sizes: [3, 4])(x)
        XCTAssertEqual(u.shape, [2, 3, 4])
        XCTAssertEqual(Flatten()(u).scalars, x.scalars)
        XCTAssertEqual(Flatten(startDim: 0)(u).shape, [24])
        XCTAssertTrue(Identity()(x) === x)
        // Layers are their functions (checked against PyTorch in LayerFixtureTests).
        let y = Tensor.randn([3, 5])
        XCTAssertEqual(Sigmoid()(y).scalars, y.sigmoid().scalars)
        XCTAssertEqual(Tanh()(y).scalars, y.tanh().scalars)
        XCTAssertEqual(GELU(approximate: true)(y).scalars, y.gelu(approximate: true).scalars)
        XCTAssertEqual(Softmax(dim: 1)(y).sum(dim: 1).scalars.map { ($0 * 1e4).rounded() }, [1e4, 1e4, 1e4])
        XCTAssertEqual(LogSoftmax(dim: 1)(y).scalars, y.logSoftmax(dim: 1).scalars)
        XCTAssertEqual(Hardtanh()(y * 5).abs().max().item, 1)
        XCTAssertEqual(Unflatten(dim: 1, sizes: [3, 4]).description, "Unflatten(dim=1, unflattened_size=(3, 4))")
    }

    /// Stored properties register themselves, as PyTorch's attributes do: children and
    /// parameters under the property's name, in declaration order, each once.
    func testPropertiesRegisterThemselves() {
        final class Block: Module {
            let fc1 = Linear(4, 3), fc2 = Linear(3, 2, bias: false)
            let scale = Tensor.ones([2]).requiringGrad()
            let constant = Tensor.ones([2])  // no gradient: not a parameter
            let alias: Linear
            override init() {
                alias = Linear(1, 1)
                super.init()
            }
            override func forward(_ x: Tensor) -> Tensor { fc2(fc1(x).relu()) * scale }
        }
        final class Net: Module {
            let block = Block()
            var head: Linear? = Linear(2, 1)
            override func forward(_ x: Tensor) -> Tensor { head!(block(x)) }
        }
        let net = Net()
        XCTAssertEqual(net.stateDict().keys, ["block.scale", "block.fc1.weight", "block.fc1.bias", "block.fc2.weight",
                                               "block.alias.weight", "block.alias.bias", "head.weight", "head.bias"])
        XCTAssertEqual(net.parameterCount, 4 * 3 + 3 + 3 * 2 + 2 + 1 + 1 + 2 + 1)
        XCTAssertTrue(net.description.contains("(fc1): Linear(in_features=4, out_features=3, bias=True)"), net.description)
        let y = net(Tensor.randn([5, 4]))
        y.sum().backward()
        XCTAssertNotNil(net.block.scale.grad)
        // Registering by hand first keeps that name; the property is not registered twice.
        final class Named: Module {
            let layer = Linear(2, 2)
            override init() {
                super.init()
                registerModule("renamed", layer)
            }
        }
        XCTAssertEqual(Named().stateDict().keys, ["renamed.weight", "renamed.bias"])
    }

    /// PyTorch's layers take unbatched input (C, H, W) / (C, L) and return unbatched output.
    func testLayersTakeUnbatchedInput() {
        Descent.manualSeed(3)
        let image = Tensor.randn([2, 6, 6])
        let layers: [Module] = [Conv2d(2, 3, kernelSize: 3, padding: 1), MaxPool2d(2), AvgPool2d(2), AdaptiveAvgPool2d(2),
                                AdaptiveMaxPool2d(3), ConvTranspose2d(2, 3, kernelSize: 2, stride: 2)]
        for layer in layers {
            layer.eval()
            let batched = layer(image.unsqueeze(0)), single = layer(image)
            XCTAssertEqual(single.shape, Array(batched.shape.dropFirst()), "\(layer)")
            assertClose(single, batched.squeeze(dim: 0), "\(layer)")
        }
        let bn = BatchNorm2d(2)
        bn.eval()
        assertClose(bn(image), bn(image.unsqueeze(0)).squeeze(dim: 0), "BatchNorm2d")
        let signal = Tensor.randn([2, 9])
        for layer: Module in [Conv1d(2, 4, kernelSize: 3), MaxPool1d(2), AvgPool1d(3), ConvTranspose1d(2, 3, kernelSize: 3)] {
            let batched = layer(signal.unsqueeze(0)), single = layer(signal)
            assertClose(single, batched.squeeze(dim: 0), "\(layer)")
        }
    }

    /// A non-strict load returns what it skipped, as PyTorch's `_IncompatibleKeys`.
    func testNonStrictLoadReturnsMissingAndUnexpectedKeys() throws {
        let model = Sequential { Linear(2, 3); Linear(3, 1) }
        var state = model.stateDict()
        state.entries.removeAll { $0.key == "1.bias" }
        state.entries.append((key: "extra", tensor: Tensor.zeros([1])))
        let keys = try model.loadStateDict(state, strict: false)
        XCTAssertEqual(keys, IncompatibleKeys(missing: ["1.bias"], unexpected: ["extra"]))
        XCTAssertThrowsError(try model.loadStateDict(state))
        XCTAssertEqual(try model.loadStateDict(model.stateDict()), IncompatibleKeys(missing: [], unexpected: []))
    }
}
