import ArgumentParser
import Descent

/// The models `descent train` builds, for images (N, C, H, W) of `classes` classes.
enum ModelKind: String, ExpressibleByArgument, CaseIterable {
    case mlp, cnn, cnnBN = "cnn-bn", lstm, gru

    /// The model for images of `channels` × `height` × `width` and `classes` classes.
    func build(channels: Int, height: Int, width: Int, classes: Int) -> Module {
        switch self {
        case .mlp:
            return Sequential {
                Flatten()
                Linear(channels * height * width, 128)
                ReLU()
                Linear(128, 64)
                ReLU()
                Linear(64, classes)
            }
        case .cnn, .cnnBN:
            // Conv-(BN)-ReLU-Pool twice, then a linear classifier.
            let bn = self == .cnnBN
            return Sequential {
                Conv2d(channels, 16, kernelSize: 3, padding: 1)
                if bn { BatchNorm2d(16) }
                ReLU()
                MaxPool2d(2)
                Conv2d(16, 32, kernelSize: 3, padding: 1)
                if bn { BatchNorm2d(32) }
                ReLU()
                MaxPool2d(2)
                Flatten()
                Linear(32 * (height / 4) * (width / 4), classes)
            }
        case .lstm, .gru:
            return RowReader(cell: self, features: channels * width, hidden: 64, classes: classes)
        }
    }

    /// Whether the images are large enough for the model (the CNN pools twice by 2).
    func accepts(height: Int, width: Int) -> Bool {
        self == .cnn || self == .cnnBN ? height >= 4 && width >= 4 : true
    }
}

/// Reads an image row by row with an LSTM or GRU (a sequence of H steps of C·W features) and
/// classifies it from the last step's output.
final class RowReader: Module {
    let lstm: LSTM?, gru: GRU?
    let head: Linear

    init(cell: ModelKind, features: Int, hidden: Int, classes: Int) {
        lstm = cell == .lstm ? LSTM(features, hidden, batchFirst: true) : nil
        gru = cell == .gru ? GRU(features, hidden, batchFirst: true) : nil
        head = Linear(hidden, classes)
        super.init()
    }

    override func forward(_ x: Tensor) -> Tensor {
        // (N, C, H, W) → (N, H, C·W): one step per row.
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let rows = x.permute([0, 2, 1, 3]).reshape([n, h, c * w])
        let out = lstm.map { $0(rows).output } ?? gru!(rows).output
        return head(out.select(dim: 1, index: h - 1))
    }
}
