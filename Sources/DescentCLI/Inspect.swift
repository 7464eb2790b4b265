import ArgumentParser
import Descent
import Foundation

/// Lists what a safetensors file holds (and checks a file of descent train against the model it
/// names), or what an IDX or CSV data file holds. A file that cannot be read is answered with one
/// line naming it and the problem.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a safetensors file's tensors (name, dtype, shape, min/max/mean) and metadata and what a checkpoint holds; or an IDX or CSV data file's shape and values.")

    @Argument(help: "A .safetensors file (a state dict, a checkpoint, any tensors), an IDX file (plain or .gz) or a CSV file of images.")
    var file: String
    @Option(help: "For a CSV file: where the label is in each row, first or last.") var labelColumn: CSVImages.LabelColumn = .first

    func run() throws {
        let name = file.lowercased()
        if name.hasSuffix(".csv") || name.hasSuffix(".csv.gz") {
            let d = try CSVImages.read(file, labelColumn: labelColumn)
            print("\(file): CSV, \(d.count) images of \(d.images.shape.dropFirst().map(String.init).joined(separator: "×")), \(d.classes) classes"
                  + summary(d.images))
            return
        }
        if name.hasSuffix(".idx") || name.hasSuffix(".idx.gz") || name.contains("-ubyte") {
            let t = try IDX.read(file)
            print("\(file): IDX, \(t.dtype.rawValue) \(Shape(t.shape))" + summary(t))
            return
        }
        let st = try SafeTensors.load(from: file)
        // A checkpoint or model of descent train must hold the weights of the model it names.
        if TrainedModel.isTrainOutput(st) { _ = try TrainedModel(st, path: file) }
        let bytes = st.tensors.reduce(0) { $0 + $1.tensor.count * $1.tensor.dtype.byteSize }
        print("\(file): \(st.tensors.count) tensors, \(bytes) bytes of data")
        if st.metadata["format"] == "descent-checkpoint" {
            let c = try Checkpoint(st, path: file)
            print("a Descent checkpoint: epoch \(c.epoch), step \(c.step); model \(c.metadata["model"] ?? "?") (\(c.model.count) tensors, \(c.model.entries.reduce(0) { $0 + $1.tensor.count }) values), optimizer \(c.metadata["optimizer"] ?? "?") (\(c.optimizer.count) entries), schedule \(c.metadata["schedule"] ?? "none") (\(c.scheduler.count) entries), generators \(c.generators.keys.sorted().joined(separator: ", "))")
        }
        if !st.metadata.isEmpty {
            print("metadata:")
            for (k, v) in st.metadata.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
        }
        let width = max(4, st.tensors.map(\.name.count).max() ?? 0)
        for (name, t) in st.tensors {
            let padded = name + String(repeating: " ", count: width - name.count)
            let line = "  \(padded)  \(t.dtype.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))  \(Shape(t.shape))"
            print(line + summary(t))
        }
    }

    /// "  min … max … mean …" of a tensor's values (nothing for an empty one).
    private func summary(_ t: Tensor) -> String {
        guard t.count > 0 else { return "" }
        let d = t.to(.float64)
        return String(format: "  min %.4g  max %.4g  mean %.4g", d.amin().itemDouble, d.amax().itemDouble, d.mean().itemDouble)
    }
}

/// PyTorch's shape text, (3, 4).
private func Shape(_ s: [Int]) -> String { s.count == 1 ? "(\(s[0]),)" : "(" + s.map(String.init).joined(separator: ", ") + ")" }
