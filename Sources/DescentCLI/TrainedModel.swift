import ArgumentParser
import Descent
import Foundation

/// A model saved by `descent train`, rebuilt from a checkpoint (last.safetensors,
/// best.safetensors) or from its model.safetensors, whose metadata names the model kind, the
/// input shape and the classes.
struct TrainedModel {
    let module: Module
    let kind: ModelKind
    /// (C, H, W).
    let inputShape: [Int]
    let classes: Int
    let metadata: [String: String]

    /// The metadata `descent train` writes with every model: the recipe, input shape, classes.
    static func metadata(recipe: [String: String], inputShape: [Int], classes: Int) -> [String: String] {
        recipe.merging(["input-shape": inputShape.map(String.init).joined(separator: "x"), "classes": "\(classes)"]) { a, _ in a }
    }

    static func load(_ path: String) throws -> TrainedModel { try TrainedModel(try SafeTensors.load(from: path), path: path) }

    /// Whether `file` was written by descent train (its metadata names the model and input).
    static func isTrainOutput(_ file: SafeTensors) -> Bool {
        let meta = file.metadata
        return meta["model"] != nil && meta["input-shape"] != nil && (meta["format"] == "descent-checkpoint" || meta["classes"] != nil)
    }
}

extension TrainedModel {
    /// The model in a file of descent train already read; `path` names it in errors.
    init(_ file: SafeTensors, path: String) throws {
        let state: StateDict
        var meta = file.metadata
        if meta["format"] == "descent-checkpoint" {
            let checkpoint = try Checkpoint(file, path: path)
            state = checkpoint.model
            meta = checkpoint.metadata
        } else {
            state = StateDict(file.tensors.map { ($0.name, $0.tensor) })
        }
        guard let kindName = meta["model"], let kind = ModelKind(rawValue: kindName),
              let shapeText = meta["input-shape"], let classesText = meta["classes"], let classes = Int(classesText) else {
            throw CLIError("\(path) was not written by descent train (its metadata does not name the model, input shape and classes)")
        }
        let shape = shapeText.split(separator: "x").compactMap { Int($0) }
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }), classes >= 2 else {
            throw CLIError("\(path): its metadata has an invalid input shape '\(shapeText)' or class count \(classes)")
        }
        let module = kind.build(channels: shape[0], height: shape[1], width: shape[2], classes: classes)
        do { try module.loadStateDict(state) } catch {
            throw CLIError("\(path) does not hold the weights of a \(kind.rawValue) model: \(error)")
        }
        module.eval()
        self.init(module: module, kind: kind, inputShape: shape, classes: classes, metadata: meta)
    }
}

/// Evaluates a trained model on a data set's test images.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint or model of descent train on test images: accuracy, loss, confusion matrix.")

    @Argument(help: "A file written by descent train (last.safetensors, best.safetensors or model.safetensors).")
    var model: String
    @OptionGroup var data: DataOptions
    @Flag(help: "Evaluate on the training images instead of the test images.") var train = false
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let trained = try TrainedModel.load(model)
        let (trainSet, testSet) = try data.load()
        let set = train ? trainSet : testSet
        let shape = Array(set.images.shape.dropFirst())
        guard shape == trained.inputShape else {
            throw CLIError("the model takes images of \(trained.inputShape.map(String.init).joined(separator: "×")), the data has \(shape.map(String.init).joined(separator: "×"))")
        }
        guard set.classes <= trained.classes else {
            throw CLIError("the data has labels up to \(set.classes - 1), the model knows \(trained.classes) classes")
        }
        let data = ImageDataset(images: set.images, labels: set.labels, classes: trained.classes)
        let result = Evaluation.run(trained.module, on: data)
        print("\(trained.kind.rawValue) model on \(self.data.name) (\(train ? "training" : "test") images, \(data.count))")
        print(String(format: "accuracy %.2f%%, loss %.4f", 100 * result.accuracy, result.loss))
        print(result.confusionTable())
    }
}

/// Classifies image files with a trained model.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images (8-bit grayscale PGM or PNG, or CSV rows of pixels) with a model of descent train.")

    @Argument(help: "A file written by descent train.") var model: String
    @Argument(help: "Images: .pgm or .png files, or .csv files with one image per row (pixels only).") var images: [String]
    @Option(help: "Classes to show per image, most likely first.") var top = 3
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1, got \(top)") }
    }

    func run() throws {
        try common.apply()
        let trained = try TrainedModel.load(model)
        let (c, h, w) = (trained.inputShape[0], trained.inputShape[1], trained.inputShape[2])
        for path in images {
            var inputs: [(String, Tensor)] = []
            if path.hasSuffix(".csv") {
                let rows = try pixelRows(path, count: c * h * w)
                inputs = rows.enumerated().map { ("\(path) row \($0.offset + 1)", $0.element.reshape([c, h, w])) }
            } else {
                var image = try ImageFile.read(path)
                if image.shape != [c, h, w] {
                    guard c == 1 else { throw CLIError("\(path): the model takes \(c)-channel images") }
                    print("\(path): resized from \(image.shape[1])×\(image.shape[2]) to the model's \(h)×\(w)")
                    image = interpolate(image.unsqueeze(0), size: Size2(h, w), mode: .bilinear).squeeze(dim: 0)
                }
                inputs = [(path, image)]
            }
            for (name, x) in inputs {
                let p = withNoGrad { trained.module(x.unsqueeze(0)).softmax(dim: 1) }.toArray(Double.self)
                let ranked = p.enumerated().sorted { $0.element > $1.element }.prefix(top)
                print("\(name): class \(ranked.first!.offset) (" + ranked.map { String(format: "%d: %.4f", $0.offset, $0.element) }.joined(separator: ", ") + ")")
            }
        }
    }

    /// The rows of a CSV file of pixels (no label), scaled to [0, 1] when any is above 1.
    func pixelRows(_ path: String, count: Int) throws -> [Tensor] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("\(path): cannot be read") }
        var rows: [[Float]] = []
        for (i, line) in text.split(whereSeparator: \.isNewline).enumerated() where !line.allSatisfy(\.isWhitespace) {
            let fields = line.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            if i == 0 && fields.contains(nil) { continue }  // a header
            guard fields.count == count, fields.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw CLIError("\(path) line \(i + 1): expected \(count) numbers (the model's \(count) pixels), got \(fields.count) fields")
            }
            rows.append(fields.map { $0! })
        }
        guard !rows.isEmpty else { throw CLIError("\(path): no rows of pixels") }
        let scale: Float = rows.joined().contains { $0 > 1 } ? 255 : 1
        return rows.map { Tensor($0.map { $0 / scale }) }
    }
}
