import Foundation

/// Horizontal bars on a logarithmic axis around a reference value (SVG): one bar per label,
/// drawn from the reference line to the value, so that values below it (faster, smaller) and
/// above it stand apart. For ratios: Descent's time ÷ PyTorch's per workload, reference 1.
public struct BarChart {
    /// The title above the bars.
    public var title: String
    /// The label under the axis.
    public var xLabel: String
    /// One (label, value) per bar, top first; a non-finite or non-positive value gets no bar.
    public var bars: [(label: String, value: Double)]
    /// Where bars start (a vertical line is drawn there), default 1.
    public var reference: Double
    /// Values at or below `target` are drawn in the first colour, others in the second.
    public var target: Double?

    /// - Parameters:
    ///   - title: The title above the bars.
    ///   - xLabel: The label under the axis.
    ///   - bars: (label, value) pairs, top first.
    ///   - reference: Where bars start, default 1.
    ///   - target: A threshold line; bars at or below it green, above it orange (none: all blue).
    public init(title: String, xLabel: String, bars: [(label: String, value: Double)], reference: Double = 1, target: Double? = nil) {
        self.title = title; self.xLabel = xLabel; self.bars = bars; self.reference = reference; self.target = target
    }

    /// The chart as an SVG document, `width` pixels wide and `barHeight` per bar.
    public func svg(width: Double = 720, barHeight: Double = 22) -> String {
        let labelWidth = max(80, Double(bars.map(\.label.count).max() ?? 0) * 6.6 + 16)
        let left = labelWidth + 12, right = 70.0, top = 40.0, bottom = 52.0
        let plotW = width - left - right, height = top + Double(bars.count) * barHeight + bottom
        let logs = (bars.map(\.value) + [reference] + (target.map { [$0] } ?? [])).filter { $0.isFinite && $0 > 0 }.map(log10)
        var (lo, hi) = Axis.range(logs)
        lo = floor(lo * 10) / 10 - 0.05; hi = ceil(hi * 10) / 10 + 0.05
        func px(_ v: Double) -> Double { left + (log10(v) - lo) / (hi - lo) * plotW }
        var out = [##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(fmt(width))" height="\##(fmt(height))" viewBox="0 0 \##(fmt(width)) \##(fmt(height))" font-family="sans-serif" font-size="11">"##,
                   ##"<rect width="100%" height="100%" fill="white"/>"##,
                   ##"<text x="\##(fmt(width / 2))" y="22" text-anchor="middle" font-size="14">\##(escape(title))</text>"##]
        // Ticks: 1, 2 and 5 times powers of ten inside the range.
        let bottomY = top + Double(bars.count) * barHeight
        for decade in Int(floor(lo))...Int(ceil(hi)) {
            for m in [1.0, 2, 5] {
                let v = m * pow(10, Double(decade))
                guard log10(v) >= lo, log10(v) <= hi else { continue }
                let x = px(v)
                out.append(##"<line x1="\##(fmt(x))" y1="\##(fmt(top))" x2="\##(fmt(x))" y2="\##(fmt(bottomY))" stroke="#e4e4e4"/>"##)
                out.append(##"<text x="\##(fmt(x))" y="\##(fmt(bottomY + 16))" text-anchor="middle">\##(Axis.label(v))</text>"##)
            }
        }
        for (i, bar) in bars.enumerated() {
            let y = top + Double(i) * barHeight
            out.append(##"<text x="\##(fmt(left - 6))" y="\##(fmt(y + barHeight / 2 + 4))" text-anchor="end">\##(escape(bar.label))</text>"##)
            guard bar.value.isFinite, bar.value > 0 else { continue }
            let x0 = px(reference), x1 = px(bar.value)
            let fill = target.map { bar.value <= $0 ? "#4c9a5b" : "#e0833a" } ?? "#4878b0"
            out.append(##"<rect class="bar" x="\##(fmt(min(x0, x1)))" y="\##(fmt(y + 3))" width="\##(fmt(abs(x1 - x0)))" height="\##(fmt(barHeight - 6))" fill="\##(fill)"/>"##)
            // The value beside the bar's end, or inside it (white) when the end is at the left edge.
            let inside = x1 < x0 && x1 - 40 < left
            let anchor = x1 >= x0 || inside ? "start" : "end", tx = x1 >= x0 || inside ? x1 + 4 : x1 - 4
            out.append(##"<text x="\##(fmt(tx))" y="\##(fmt(y + barHeight / 2 + 4))" text-anchor="\##(anchor)"\##(inside ? " fill=\"white\"" : "")>\##(String(format: "%.2f", bar.value))</text>"##)
        }
        out.append(##"<line x1="\##(fmt(px(reference)))" y1="\##(fmt(top - 4))" x2="\##(fmt(px(reference)))" y2="\##(fmt(bottomY))" stroke="black"/>"##)
        if let target, target > 0 {
            out.append(##"<line x1="\##(fmt(px(target)))" y1="\##(fmt(top - 4))" x2="\##(fmt(px(target)))" y2="\##(fmt(bottomY))" stroke="#4c9a5b" stroke-dasharray="4 3"/>"##)
        }
        out.append(##"<text x="\##(fmt(left + plotW / 2))" y="\##(fmt(bottomY + 38))" text-anchor="middle">\##(escape(xLabel))</text>"##)
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
