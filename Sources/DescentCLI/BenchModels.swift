import Descent

/// A residual block of ../shared/bench/torch_reference.py: two 3×3 convolutions with
/// BatchNorm, and a shortcut (a 1×1 convolution with BatchNorm when the shape changes).
final class ResidualBlock: Module {
    let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
    let shortcut: Sequential

    init(_ inChannels: Int, _ outChannels: Int, stride: Int) {
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, stride: Size2(stride), padding: 1, bias: false)
        bn1 = BatchNorm2d(outChannels)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, bias: false)
        bn2 = BatchNorm2d(outChannels)
        shortcut = stride != 1 || inChannels != outChannels
            ? Sequential([Conv2d(inChannels, outChannels, kernelSize: 1, stride: Size2(stride), bias: false), BatchNorm2d(outChannels)])
            : Sequential([Module]())
        super.init()
    }

    override func forward(_ x: Tensor) -> Tensor {
        let y = bn1(conv1(x)).relu()
        return (bn2(conv2(y)) + shortcut(x)).relu()
    }
}

enum BenchModels {
    /// The reference's small ResNet for 32×32 colour images (`resnet_train_b32_32x32`).
    static func resnet() -> Module {
        Sequential([Conv2d(3, 16, kernelSize: 3, padding: 1, bias: false), BatchNorm2d(16), ReLU(),
                    ResidualBlock(16, 16, stride: 1), ResidualBlock(16, 32, stride: 2), ResidualBlock(32, 64, stride: 2),
                    AdaptiveAvgPool2d(1), Flatten(), Linear(64, 10)])
    }
}
