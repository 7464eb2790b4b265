import Descent
import XCTest

/// Every case of Tests/Fixtures/layers.safetensors (Scripts/make_fixtures.py, `layers()`):
/// activations, losses, pooling and upsampling as functions; layers with PyTorch's state dict
/// loaded strictly, in train or eval mode, compared on outputs, gradients of the input and of
/// every parameter, and buffers (BatchNorm running statistics) afterwards.
final class LayerFixtureTests: XCTestCase {
    static let functions: [String: ([String: Tensor]) -> [Tensor]] = [
        "leaky_relu": { [$0["a"]!.leakyRelu(negativeSlope: 0.2)] },
        "elu": { [$0["a"]!.elu(alpha: 0.7)] },
        "gelu": { [$0["a"]!.gelu()] },
        "gelu_tanh": { [$0["a"]!.gelu(approximate: true)] },
        "silu": { [$0["a"]!.silu()] },
        "softplus": { [$0["a"]!.softplus(beta: 2, threshold: 5)] },
        "softmax": { [$0["a"]!.softmax(dim: 1)] },
        "log_softmax": { [$0["a"]!.logSoftmax(dim: 0)] },
        "softmax_extreme": { [$0["a"]!.softmax(dim: 1)] },
        "hardtanh": { [$0["a"]!.hardtanh(minValue: -0.5, maxValue: 1.5)] },
        "elu_branch": { [$0["a"]!.elu(alpha: 0.7)] },
        "softplus_threshold": { [$0["a"]!.softplus(beta: 2, threshold: 5)] },
        "softplus_threshold_default": { [$0["a"]!.softplus()] },
        "leaky_relu_zero": { [$0["a"]!.leakyRelu(negativeSlope: 0.3)] },
        "prelu_zero": { [$0["a"]!.prelu($0["w"]!)] },
        "hardtanh_bounds": { [$0["a"]!.hardtanh(minValue: -0.5, maxValue: 1.5)] },
        "relu_zero": { [$0["a"]!.relu()] },
        "l1_kink": { [l1Loss($0["a"]!, $0["t"]!)] },
        "smooth_l1_kink": { [smoothL1Loss($0["a"]!, $0["t"]!, beta: 0.5)] },
        "huber_kink": { [huberLoss($0["a"]!, $0["t"]!, delta: 0.5)] },
        "maxpool2d": { [$0["a"]!.maxPool2d(kernelSize: 2)] },
        "maxpool2d_ceil_pad_dil": { [$0["a"]!.maxPool2d(kernelSize: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true)] },
        "maxpool2d_ceil": { [$0["a"]!.maxPool2d(kernelSize: 2, ceilMode: true)] },
        "maxpool2d_indices": { let r = $0["a"]!.maxPool2dWithIndices(kernelSize: [2, 3], stride: [1, 2]); return [r.values, r.indices] },
        "avgpool2d": { [$0["a"]!.avgPool2d(kernelSize: 2)] },
        "avgpool2d_pad_ceil": { [$0["a"]!.avgPool2d(kernelSize: 3, stride: 2, padding: 1, ceilMode: true)] },
        "avgpool2d_nocount": { [$0["a"]!.avgPool2d(kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false)] },
        "avgpool2d_divisor": { [$0["a"]!.avgPool2d(kernelSize: 2, divisorOverride: 3)] },
        "maxpool1d": { [$0["a"]!.maxPool1d(kernelSize: 3, stride: 2, padding: 1, ceilMode: true)] },
        "avgpool1d": { [$0["a"]!.avgPool1d(kernelSize: 2, stride: 3)] },
        "adaptive_avg": { [$0["a"]!.adaptiveAvgPool2d([3, 4])] },
        "adaptive_max": { [$0["a"]!.adaptiveMaxPool2d([4, 5])] },
        "adaptive_avg_1": { [$0["a"]!.adaptiveAvgPool2d(1)] },
        "nearest_x2": { [interpolate($0["a"]!, scaleFactor: 2)] },
        "nearest_x1_7": { [interpolate($0["a"]!, scaleFactor: 1.7)] },
        "nearest_size": { [interpolate($0["a"]!, size: [5, 7])] },
        "nearest_down": { [interpolate($0["a"]!, size: [2, 3])] },
        "bilinear_x2": { [interpolate($0["a"]!, scaleFactor: 2, mode: .bilinear)] },
        "bilinear_x1_7": { [interpolate($0["a"]!, scaleFactor: 1.7, mode: .bilinear)] },
        "bilinear_align_x1_7": { [interpolate($0["a"]!, scaleFactor: 1.7, mode: .bilinear, alignCorners: true)] },
        "bilinear_align_size": { [interpolate($0["a"]!, size: [5, 9], mode: .bilinear, alignCorners: true)] },
        "bilinear_size_down": { [interpolate($0["a"]!, size: [2, 3], mode: .bilinear)] },
        "mse_mean": { [mseLoss($0["a"]!, $0["t"]!)] },
        "mse_sum": { [mseLoss($0["a"]!, $0["t"]!, reduction: .sum)] },
        "mse_none": { [mseLoss($0["a"]!, $0["t"]!, reduction: .none)] },
        "l1": { [l1Loss($0["a"]!, $0["t"]!)] },
        "smooth_l1": { [smoothL1Loss($0["a"]!, $0["t"]!, beta: 0.5)] },
        "huber": { [huberLoss($0["a"]!, $0["t"]!, delta: 0.7, reduction: .sum)] },
        "ce": { [crossEntropy($0["a"]!, $0["t"]!)] },
        "ce_weight_ignore": { [crossEntropy($0["a"]!, $0["t"]!, weight: $0["w"]!)] },
        "ce_smooth": { [crossEntropy($0["a"]!, $0["t"]!, labelSmoothing: 0.1)] },
        "ce_smooth_weight": { [crossEntropy($0["a"]!, $0["t"]!, weight: $0["w"]!, labelSmoothing: 0.2)] },
        "ce_smooth_sum": { [crossEntropy($0["a"]!, $0["t"]!, reduction: .sum, labelSmoothing: 0.3)] },
        "ce_none": { [crossEntropy($0["a"]!, $0["t"]!, reduction: .none)] },
        "ce_probs": { [crossEntropy($0["a"]!, $0["p"]!)] },
        "ce_probs_weight_smooth": { [crossEntropy($0["a"]!, $0["p"]!, weight: $0["w"]!, labelSmoothing: 0.1)] },
        "ce_spatial": { [crossEntropy($0["a"]!, $0["t"]!)] },
        "nll": { [nllLoss($0["a"]!, $0["t"]!, weight: $0["w"]!)] },
        "nll_ignore_sum": { [nllLoss($0["a"]!, $0["t"]!, ignoreIndex: 1, reduction: .sum)] },
        "log_softmax_extreme": { [$0["a"]!.logSoftmax(dim: 1)] },
        "log_softmax_last_3d": { [$0["a"]!.logSoftmax(dim: -1)] },
        "bce": { [binaryCrossEntropy($0["a"]!, $0["t"]!)] },
        "bce_grad_at_bounds": { [binaryCrossEntropy($0["a"]!, $0["t"]!)] },
        "bce_logits": { [binaryCrossEntropyWithLogits($0["a"]!, $0["t"]!)] },
        "bce_logits_pos_weight": { [binaryCrossEntropyWithLogits($0["a"]!, $0["t"]!, posWeight: $0["pw"]!)] },
    ]

    /// Wraps a ConvTranspose2d as the fixture's module `m` called with output_size [8, 8].
    final class OutputSizeWrapper: Module {
        let m = ConvTranspose2d(2, 2, kernelSize: 3, stride: 2, padding: 1)
        override init() { super.init(); registerModule("m", m) }
        override func forward(_ x: Tensor) -> Tensor { m(x, outputSize: [8, 8]) }
    }

    static let modules: [String: () -> Module] = [
        "prelu": { PReLU(numParameters: 3, initial: 0.1) },
        "linear": { Linear(6, 3) },
        "linear_3d_bias": { Linear(6, 3) },
        "linear_3d_nobias": { Linear(6, 3, bias: false) },
        "embedding_pad": { Embedding(5, 3, paddingIdx: 1) },
        "layer_norm": { LayerNorm(6) },
        "layer_norm_2d": { LayerNorm([3, 4]) },
        "bn1d_train": { BatchNorm1d(3) },
        "bn1d_3d_train": { BatchNorm1d(3) },
        "bn2d_train": { BatchNorm2d(4) },
        "bn2d_eval": { BatchNorm2d(4) },
        "bn2d_eval_batch1": { BatchNorm2d(4) },
        "bn2d_cumulative": { BatchNorm2d(2, momentum: nil) },
        "bn2d_noaffine": { BatchNorm2d(2, affine: false) },
        "bn2d_nostats_eval": { BatchNorm2d(2, trackRunningStats: false) },
        "conv2d_basic": { Conv2d(3, 4, kernelSize: 3, padding: 1) },
        "conv2d_stride_gt_kernel": { Conv2d(2, 3, kernelSize: 2, stride: 3) },
        "conv2d_pad_dilation": { Conv2d(2, 3, kernelSize: 3, padding: 2, dilation: 2) },
        "conv2d_nonsquare": { Conv2d(2, 3, kernelSize: [2, 4], stride: [2, 1], padding: [1, 0]) },
        "conv2d_groups": { Conv2d(4, 6, kernelSize: 3, groups: 2, bias: false) },
        "conv2d_depthwise": { Conv2d(3, 3, kernelSize: 3, padding: 1, groups: 3) },
        "conv2d_same_even": { Conv2d(2, 2, kernelSize: 4, padding: "same") },
        "conv2d_valid": { Conv2d(2, 2, kernelSize: 3, padding: "valid") },
        "conv1d": { Conv1d(3, 4, kernelSize: 3, stride: 2, padding: 1) },
        "conv1d_dilation_groups": { Conv1d(4, 2, kernelSize: 2, dilation: 3, groups: 2) },
        "convt2d_s2": { ConvTranspose2d(3, 2, kernelSize: 4, stride: 2, padding: 1) },
        "convt2d_outpad": { ConvTranspose2d(2, 3, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1) },
        "convt2d_groups_dilation": { ConvTranspose2d(4, 6, kernelSize: [2, 3], stride: [1, 2], groups: 2, bias: false, dilation: 2) },
        "convt1d": { ConvTranspose1d(3, 2, kernelSize: 3, stride: 3, padding: 1, outputPadding: 2) },
        "convt2d_s2_wide": { ConvTranspose2d(16, 16, kernelSize: 4, stride: 2, padding: 1) },
        "convt2d_output_size": { OutputSizeWrapper() },
    ]

    static let tolerance: [String: (rtol: Double, atol: Double)] = [:]

    func testFunctionsMatchPyTorch() throws {
        let file = try Fixtures.load("layers.safetensors")
        let moduleNames = Set(ModuleFixture.all(in: file).keys)
        let cases = FixtureCase.all(in: file).filter { !moduleNames.contains($0.key) }
        XCTAssertGreaterThan(cases.count, 45)
        runFunctionCases(cases, Self.functions, tolerance: Self.tolerance)
    }

    func testLayersMatchPyTorch() throws {
        let fixtures = ModuleFixture.all(in: try Fixtures.load("layers.safetensors"))
        XCTAssertGreaterThan(fixtures.count, 25)
        assertSameCases(fixture: Set(fixtures.keys), swift: Set(Self.modules.keys))
        for name in fixtures.keys.sorted() {
            guard let make = Self.modules[name] else {
                XCTFail("layer fixture \(name) (\(fixtures[name]!.call)) has no Swift counterpart")
                continue
            }
            fixtures[name]!.check(make())
        }
    }
}
