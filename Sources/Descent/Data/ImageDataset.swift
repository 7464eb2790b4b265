import Foundation

/// An error reading a data set: which file, and what is wrong with it.
public struct DataError: Error, CustomStringConvertible, Equatable {
    /// The file's path.
    public let path: String
    /// What is wrong.
    public let message: String
    /// - Parameters:
    ///   - path: The file's path.
    ///   - message: What is wrong.
    public init(path: String, message: String) { self.path = path; self.message = message }
    /// `data file 'PATH': MESSAGE`.
    public var description: String { "data file '\(path)': \(message)" }
}

/// Labelled images held in memory: float32 images (N, C, H, W) and int64 labels (N) in
/// 0 ..< classes. Example i is (images[i], labels[i]).
public struct ImageDataset: Dataset {
    /// The images, (N, C, H, W), float32.
    public let images: Tensor
    /// The class of each image, (N), int64.
    public let labels: Tensor
    /// The number of classes (labels are 0 ..< classes).
    public let classes: Int

    /// - Parameters:
    ///   - images: The images, (N, C, H, W) (float32).
    ///   - labels: Their classes, (N) int64 in 0 ..< classes.
    ///   - classes: The number of classes (default: the largest label + 1).
    public init(images: Tensor, labels: Tensor, classes: Int? = nil) {
        check(images.rank == 4, "[ImageDataset] expected images of shape (N, C, H, W), got \(Shape.describe(images.shape))")
        check(labels.rank == 1 && labels.shape[0] == images.shape[0] && labels.dtype == .int64,
              "[ImageDataset] expected \(images.shape[0]) int64 labels, got \(labels.dtype) \(Shape.describe(labels.shape))")
        let values = labels.toArray(Int64.self)
        let n = classes ?? Int((values.max() ?? -1) + 1)
        check(values.allSatisfy { $0 >= 0 && $0 < n }, "[ImageDataset] labels must be in 0..<\(n)")
        self.images = images.to(.float32).detach()
        self.labels = labels.detach()
        self.classes = n
    }

    /// The number of images.
    public var count: Int { images.shape[0] }
    /// Image `index` (C, H, W) and its 0-d label.
    public subscript(index: Int) -> Example { Example(input: images[index], target: labels[index]) }
    /// The images and labels at `indices`, gathered at once.
    public func batch(at indices: [Int]) -> Batch {
        let index = Tensor(indices)
        return Batch(inputs: images.indexSelect(dim: 0, index: index), targets: labels.indexSelect(dim: 0, index: index))
    }

    /// The mean and the standard deviation (biased) of every pixel of every image, per channel
    /// as in torchvision's `Normalize` statistics.
    public var channelStatistics: (mean: [Double], std: [Double]) {
        let m = images.mean(dims: [0, 2, 3]), s = images.variance(dims: [0, 2, 3], correction: 0).sqrt()
        return (m.toArray(Double.self), s.toArray(Double.self))
    }

    /// The images normalized per channel: (x − mean)/std (torchvision's `Normalize`).
    /// - Parameters:
    ///   - mean: One value per channel.
    ///   - std: One positive value per channel.
    public func normalized(mean: [Double], std: [Double]) -> ImageDataset {
        let c = images.shape[1]
        check(mean.count == c && std.count == c && std.allSatisfy { $0 > 0 },
              "[ImageDataset] expected \(c) means and \(c) positive standard deviations, got \(mean) and \(std)")
        let m = Tensor(mean).reshape([1, c, 1, 1]), s = Tensor(std).reshape([1, c, 1, 1])
        return ImageDataset(images: (images - m) / s, labels: labels, classes: classes)
    }

    /// The images at `indices` as a data set of their own.
    public func subset(_ indices: [Int]) -> ImageDataset {
        let b = batch(at: indices)
        return ImageDataset(images: b.inputs, labels: b.targets, classes: classes)
    }
}

/// Reads a whole file, as bytes: a clear error when it cannot be read.
func readFile(_ path: String) throws -> Data {
    do { return try readWholeFile(path) } catch {
        throw DataError(path: path, message: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
    }
}

/// A file's bytes, inflated when it is gzip (by its name or its first bytes).
func readMaybeGzip(_ path: String) throws -> Data {
    let data = try readFile(path)
    guard path.hasSuffix(".gz") || data.starts(with: [0x1F, 0x8B]) else { return data }
    do { return try Kernels.gunzip(data) } catch let failure as Kernels.GunzipFailure {
        switch failure {
        case .noZlib: throw DataError(path: path, message: "is gzip-compressed, and no zlib library was found (install zlib1g)")
        case .truncated: throw DataError(path: path, message: "the gzip data ends early (truncated file)")
        case .corrupt: throw DataError(path: path, message: "is not valid gzip data")
        }
    }
}
