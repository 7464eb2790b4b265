import Foundation

extension Tensor: CustomStringConvertible {
    /// PyTorch-style text: `tensor([[1.0000, 2.0000], …], dtype=torch.float64, requires_grad=True)`.
    /// Tensors of more than 1000 elements show the first and last three entries of each dim.
    public var description: String {
        let values = toArray(Double.self)
        let summarize = values.count > 1000
        let format = Tensor.numberFormat(values, isInt: dtype == .int64)
        var texts: [String] = []
        var strides = Shape.contiguousStrides(shape)
        if strides.isEmpty { strides = [1] }
        // Width of the widest printed element, for alignment.
        let width = values.map { format($0).count }.max() ?? 1
        func render(_ dim: Int, _ base: Int, _ indent: Int) -> String {
            if dim == rank { return String(repeating: " ", count: Swift.max(0, width - format(values[base]).count)) + format(values[base]) }
            let n = shape[dim]
            var indices = Array(0..<n)
            var elided = false
            if summarize && n > 6 {
                indices = [0, 1, 2, n - 3, n - 2, n - 1]
                elided = true
            }
            var parts = indices.map { render(dim + 1, base + $0 * strides[dim], indent + 1) }
            if elided { parts.insert(dim == rank - 1 ? " ..." : "...", at: 3) }
            if dim == rank - 1 {
                // Wrap the innermost dim at 80 columns, as PyTorch does.
                let perLine = Swift.max(1, (80 - indent) / (width + 2))
                let lines = stride(from: 0, to: parts.count, by: perLine).map {
                    parts[$0..<Swift.min($0 + perLine, parts.count)].joined(separator: ", ")
                }
                return "[" + lines.joined(separator: ",\n" + String(repeating: " ", count: indent + 1)) + "]"
            }
            let sep = "," + String(repeating: "\n", count: rank - dim - 1) + String(repeating: " ", count: indent + 1)
            return "[" + parts.joined(separator: sep) + "]"
        }
        texts.append(rank == 0 ? format(values.first ?? 0) : render(0, 0, 7))
        var extras: [String] = []
        if count == 0 && rank != 1 { extras.append("size=\(Shape.describe(shape))") }
        if dtype == .float64 || dtype == .bfloat16 { extras.append("dtype=torch.\(dtype)") }
        if let fn = gradFn { extras.append("grad_fn=<\(fn)>") } else if requiresGrad { extras.append("requires_grad=True") }
        return "tensor(" + texts[0] + extras.map { ", " + $0 }.joined() + ")"
    }

    /// PyTorch's choice of number format for a set of values.
    static func numberFormat(_ values: [Double], isInt: Bool) -> (Double) -> String {
        if isInt { return { String(Int64($0)) } }
        let finite = values.filter { $0.isFinite }
        let special: (Double) -> String? = { v in
            v.isNaN ? "nan" : (v == .infinity ? "inf" : (v == -.infinity ? "-inf" : nil))
        }
        let nonzero = finite.map { Swift.abs($0) }.filter { $0 != 0 }
        let maxAbs = nonzero.max() ?? 0, minAbs = nonzero.min() ?? 0
        let wideRange = maxAbs / Swift.max(minAbs, .leastNonzeroMagnitude) > 1000 || maxAbs > 1e8
        if finite.allSatisfy({ $0 == $0.rounded() }) {
            return { v in special(v) ?? (wideRange ? String(format: "%.4e", v) : String(format: "%.0f.", v)) }
        }
        let scientific = wideRange || minAbs < 1e-4
        return { v in special(v) ?? String(format: scientific ? "%.4e" : "%.4f", v) }
    }
}
