import ArgumentParser
import Descent
import Foundation

/// Where `train` and `evaluate` take their images from: the embedded digits, an MNIST-style
/// folder of IDX files, or a CSV file.
struct DataOptions: ParsableArguments {
    @Option(help: "A folder of MNIST-style IDX files (train-images, train-labels, t10k- or test- images and labels; plain or .gz).")
    var idx: String?
    @Option(help: "A CSV file of images, one per row: a label and the pixels.")
    var csv: String?
    @Option(help: "A CSV file of test images (default: 20% of --csv held out).")
    var testCsv: String?
    @Option(help: "Where the label is in each CSV row: first or last.")
    var labelColumn: CSVImages.LabelColumn = .first
    @Option(help: "Image height, for CSV rows that are not square images.")
    var height: Int?
    @Option(help: "Image width, for CSV rows that are not square images.")
    var width: Int?

    func validate() throws {
        if idx != nil && csv != nil { throw ValidationError("give --idx or --csv, not both") }
        if testCsv != nil && csv == nil { throw ValidationError("--test-csv needs --csv") }
        if let height, height < 1 { throw ValidationError("--height must be at least 1, got \(height)") }
        if let width, width < 1 { throw ValidationError("--width must be at least 1, got \(width)") }
        if (height != nil || width != nil) && csv == nil { throw ValidationError("--height and --width apply to --csv files") }
    }

    /// A short name of the data, recorded in checkpoints.
    var name: String {
        if let idx { return "idx:" + idx }
        if let csv { return "csv:" + csv + (testCsv.map { "+" + $0 } ?? "") }
        return "digits"
    }

    /// The training and test sets.
    func load() throws -> (train: ImageDataset, test: ImageDataset) {
        if let idx { return try Self.loadIDX(folder: idx) }
        if let csv {
            let all = try CSVImages.read(csv, labelColumn: labelColumn, height: height, width: width)
            if let testCsv {
                let test = try CSVImages.read(testCsv, labelColumn: labelColumn, height: height, width: width)
                guard test.images.shape.dropFirst() == all.images.shape.dropFirst() else {
                    throw DataError(path: testCsv, message: "its images are \(test.images.shape.dropFirst().map(String.init).joined(separator: "×")), the training images \(all.images.shape.dropFirst().map(String.init).joined(separator: "×"))")
                }
                let classes = max(all.classes, test.classes)
                return (ImageDataset(images: all.images, labels: all.labels, classes: classes),
                        ImageDataset(images: test.images, labels: test.labels, classes: classes))
            }
            // A fixed 80/20 split, independent of --seed, so that runs are comparable.
            guard all.count >= 2 else { throw DataError(path: csv, message: "holds \(all.count) row: too few to hold out a test set") }
            var g = Generator(seed: 20_251_201)
            var order = Array(0..<all.count)
            order.shuffle(using: &g)
            let nTest = max(1, all.count / 5)
            return (all.subset(Array(order[nTest...])), all.subset(Array(order[..<nTest])))
        }
        let digits = try Digits.load()
        return (digits.train, digits.test)
    }

    /// The four files of an MNIST-style folder, found by name.
    static func loadIDX(folder: String) throws -> (train: ImageDataset, test: ImageDataset) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw DataError(path: folder, message: "no such folder")
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        func find(_ set: [String], _ kind: String) throws -> String {
            let hits = files.filter { f in set.contains { f.hasPrefix($0) } && f.contains(kind) }.sorted()
            guard let first = hits.first else {
                throw DataError(path: folder, message: "has no \(set[0])*\(kind)* file (expected MNIST's train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz)")
            }
            return folder + "/" + first
        }
        let train = try IDX.images(try find(["train"], "images"), labels: try find(["train"], "labels"))
        let test = try IDX.images(try find(["t10k", "test"], "images"), labels: try find(["t10k", "test"], "labels"))
        guard train.images.shape.dropFirst() == test.images.shape.dropFirst() else {
            throw DataError(path: folder, message: "the training and test images differ in shape")
        }
        let classes = max(train.classes, test.classes)
        return (ImageDataset(images: train.images, labels: train.labels, classes: classes),
                ImageDataset(images: test.images, labels: test.labels, classes: classes))
    }
}

extension CSVImages.LabelColumn: ExpressibleByArgument {}
