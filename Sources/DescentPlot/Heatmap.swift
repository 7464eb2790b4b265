import Foundation

/// A grid of values drawn as coloured cells (SVG): rows and columns with labels, a colour bar,
/// a linear or logarithmic scale, and optionally each cell's value written in it. For values
/// over two indices: a gradient norm per layer and step, an accuracy per model and length.
public struct Heatmap {
    /// The title above the grid.
    public var title: String
    /// The label under the columns.
    public var xLabel: String
    /// The label beside the rows.
    public var yLabel: String
    /// One label per row, top row first.
    public var rowLabels: [String]
    /// One label per column, left column first.
    public var columnLabels: [String]
    /// The values, `values[row][column]`; a non-finite value (or a non-positive one on a log
    /// scale) is drawn light grey.
    public var values: [[Double]]
    /// Whether colours follow log10 of the values.
    public var logScale: Bool
    /// Whether each cell shows its value as text.
    public var showValues: Bool
    /// The values at the two ends of the colour scale (else the data's smallest and largest),
    /// so that several heatmaps share one scale.
    public var range: (low: Double, high: Double)?

    /// - Parameters:
    ///   - title: The title above the grid.
    ///   - xLabel: The label under the columns.
    ///   - yLabel: The label beside the rows.
    ///   - rowLabels: One label per row, top first.
    ///   - columnLabels: One label per column, left first.
    ///   - values: `values[row][column]`.
    ///   - logScale: Colours by log10 of the values, default false.
    ///   - showValues: Writes each value in its cell, default false.
    ///   - range: The values at the ends of the colour scale, default the data's extremes.
    public init(title: String, xLabel: String, yLabel: String, rowLabels: [String], columnLabels: [String], values: [[Double]],
                logScale: Bool = false, showValues: Bool = false, range: (low: Double, high: Double)? = nil) {
        self.range = range
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.rowLabels = rowLabels; self.columnLabels = columnLabels
        self.values = values; self.logScale = logScale; self.showValues = showValues
    }

    /// Colour stops from low to high (viridis, sampled).
    static let stops: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]

    /// The colour of `t` in [0, 1] on the scale.
    static func colour(_ t: Double) -> String {
        let x = min(max(t, 0), 1) * Double(stops.count - 1), i = min(Int(x), stops.count - 2), f = x - Double(i)
        let a = stops[i], b = stops[i + 1]
        func mix(_ u: Double, _ v: Double) -> Int { Int((u + (v - u) * f).rounded()) }
        return "rgb(\(mix(a.0, b.0)),\(mix(a.1, b.1)),\(mix(a.2, b.2)))"
    }

    /// A value's text: three significant digits.
    static func text(_ v: Double) -> String { v.isFinite ? String(format: "%.3g", v) : "\(v)" }

    /// The grid as an SVG document; each cell `cellWidth` × `cellHeight` pixels.
    public func svg(cellWidth: Double = 56, cellHeight: Double = 28) -> String {
        let rows = values.count, columns = values.map(\.count).max() ?? 0
        let labelWidth = max(60, Double(rowLabels.map(\.count).max() ?? 0) * 7 + 16)
        let left = labelWidth + 24, top = 40.0, barWidth = 16.0, right = 80.0, bottom = 52.0
        let width = left + Double(columns) * cellWidth + 24 + barWidth + right, height = top + Double(rows) * cellHeight + bottom
        func scaled(_ v: Double) -> Double? { v.isFinite && (!logScale || v > 0) ? (logScale ? log10(v) : v) : nil }
        let usable = values.flatMap { $0.compactMap(scaled) }
        var lo = range.flatMap { scaled($0.low) } ?? usable.min() ?? 0, hi = range.flatMap { scaled($0.high) } ?? usable.max() ?? 1
        if hi <= lo { lo -= 0.5; hi += 0.5 }
        var out = [##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(fmt(width))" height="\##(fmt(height))" viewBox="0 0 \##(fmt(width)) \##(fmt(height))" font-family="sans-serif" font-size="11">"##,
                   ##"<rect width="100%" height="100%" fill="white"/>"##,
                   ##"<text x="\##(fmt(width / 2))" y="22" text-anchor="middle" font-size="14">\##(escape(title))</text>"##]
        for (r, row) in values.enumerated() {
            let y = top + Double(r) * cellHeight
            if r < rowLabels.count {
                out.append(##"<text x="\##(fmt(left - 6))" y="\##(fmt(y + cellHeight / 2 + 4))" text-anchor="end">\##(escape(rowLabels[r]))</text>"##)
            }
            for (c, v) in row.enumerated() {
                let x = left + Double(c) * cellWidth
                let t = scaled(v).map { ($0 - lo) / (hi - lo) }
                let fill = t.map(Self.colour) ?? "#dddddd"
                out.append(##"<rect class="cell" x="\##(fmt(x))" y="\##(fmt(y))" width="\##(fmt(cellWidth))" height="\##(fmt(cellHeight))" fill="\##(fill)"><title>\##(Self.text(v))</title></rect>"##)
                if showValues {
                    let ink = (t ?? 1) > 0.6 ? "black" : "white"
                    out.append(##"<text x="\##(fmt(x + cellWidth / 2))" y="\##(fmt(y + cellHeight / 2 + 4))" text-anchor="middle" fill="\##(ink)">\##(Self.text(v))</text>"##)
                }
            }
        }
        // Column labels: all when they fit, else about eight.
        let every = max(1, Int((48 / cellWidth).rounded(.up)))
        for (c, label) in columnLabels.enumerated() where c % every == 0 {
            out.append(##"<text x="\##(fmt(left + (Double(c) + 0.5) * cellWidth))" y="\##(fmt(top + Double(rows) * cellHeight + 16))" text-anchor="middle">\##(escape(label))</text>"##)
        }
        out.append(##"<text x="\##(fmt(left + Double(columns) * cellWidth / 2))" y="\##(fmt(height - 10))" text-anchor="middle" font-size="12">\##(escape(xLabel))</text>"##)
        let midY = top + Double(rows) * cellHeight / 2
        out.append(##"<text x="14" y="\##(fmt(midY))" text-anchor="middle" font-size="12" transform="rotate(-90 14 \##(fmt(midY)))">\##(escape(yLabel))</text>"##)
        // The colour bar, high at the top, with the scale's ends and middle.
        let barX = left + Double(columns) * cellWidth + 24, barH = Double(rows) * cellHeight, steps = 32
        for i in 0..<steps {
            let y = top + barH * Double(i) / Double(steps)
            out.append(##"<rect x="\##(fmt(barX))" y="\##(fmt(y))" width="\##(fmt(barWidth))" height="\##(fmt(barH / Double(steps) + 0.5))" fill="\##(Self.colour(1 - (Double(i) + 0.5) / Double(steps)))"/>"##)
        }
        for (t, y) in [(1.0, top), (0.5, top + barH / 2), (0.0, top + barH)] {
            let v = lo + (hi - lo) * t
            out.append(##"<text x="\##(fmt(barX + barWidth + 4))" y="\##(fmt(y + 4))">\##(Self.text(logScale ? pow(10, v) : v))</text>"##)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}
