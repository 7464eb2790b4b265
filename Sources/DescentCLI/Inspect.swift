import ArgumentParser
import Descent
import Foundation

/// Lists what a safetensors file holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a safetensors file's tensors (name, dtype, shape, min/max/mean) and metadata, and what a checkpoint holds.")

    @Argument(help: "A .safetensors file (a state dict, a checkpoint, any tensors).") var file: String

    func run() throws {
        let st = try SafeTensors.load(from: file)
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
            var line = "  \(padded)  \(t.dtype.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))  \(Shape(t.shape))"
            if t.count > 0 {
                let d = t.to(.float64)
                line += String(format: "  min %.4g  max %.4g  mean %.4g", d.amin().itemDouble, d.amax().itemDouble, d.mean().itemDouble)
            }
            print(line)
        }
    }
}

/// PyTorch's shape text, (3, 4).
private func Shape(_ s: [Int]) -> String { s.count == 1 ? "(\(s[0]),)" : "(" + s.map(String.init).joined(separator: ", ") + ")" }
