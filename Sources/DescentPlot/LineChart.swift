import Foundation

/// One line of a chart: a name for the legend and its points.
public struct Series {
    /// The legend's text.
    public var name: String
    /// The points, in drawing order.
    public var points: [(x: Double, y: Double)]

    /// - Parameters:
    ///   - name: The legend's text.
    ///   - points: The points (non-finite ones are skipped, breaking the line).
    public init(_ name: String, _ points: [(x: Double, y: Double)]) { self.name = name; self.points = points }

    /// A series of `values` at x = 1, 2, 3, … (epochs).
    public init(_ name: String, values: [Double]) {
        self.init(name, values.enumerated().map { (Double($0.offset + 1), $0.element) })
    }
}

/// A line chart drawn as SVG that any browser shows: axes with readable ticks (linear or
/// logarithmic y), a title, axis labels, a legend, one colour per series.
public struct LineChart {
    /// The title above the plot.
    public var title: String
    /// The label of the x axis.
    public var xLabel: String
    /// The label of the y axis.
    public var yLabel: String
    /// The lines.
    public var series: [Series]
    /// Whether the y axis is logarithmic (non-positive values are then skipped).
    public var logY: Bool

    /// - Parameters:
    ///   - title: The title above the plot.
    ///   - xLabel: The label of the x axis.
    ///   - yLabel: The label of the y axis.
    ///   - series: The lines.
    ///   - logY: A logarithmic y axis, default false.
    public init(title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool = false) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.logY = logY
    }

    /// Colours of the series, in order (colour-blind-safe, Okabe–Ito).
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    /// The chart as a standalone SVG document of `width` × `height` pixels.
    public func svg(width: Double = 640, height: Double = 400) -> String {
        let left = 70.0, right = 20.0, top = 40.0, bottom = 55.0
        let plotW = width - left - right, plotH = height - top - bottom
        let usable = series.map { s in s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) } }
        let xs = usable.flatMap { $0.map(\.x) }, ys = usable.flatMap { $0.map { logY ? log10($0.y) : $0.y } }
        let (x0, x1) = Axis.range(xs), (y0, y1) = Axis.range(ys)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + plotH - ((logY ? log10(y) : y) - y0) / (y1 - y0) * plotH }
        var out = [##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(fmt(width))" height="\##(fmt(height))" viewBox="0 0 \##(fmt(width)) \##(fmt(height))" font-family="sans-serif" font-size="12">"##]
        out.append(##"<rect width="100%" height="100%" fill="white"/>"##)
        out.append(##"<text x="\##(fmt(width / 2))" y="22" text-anchor="middle" font-size="15">\##(escape(title))</text>"##)
        // Grid and ticks.
        for t in Axis.ticks(x0, x1) {
            out.append(##"<line x1="\##(fmt(px(t)))" y1="\##(fmt(top))" x2="\##(fmt(px(t)))" y2="\##(fmt(top + plotH))" stroke="#e5e5e5"/>"##)
            out.append(##"<text x="\##(fmt(px(t)))" y="\##(fmt(top + plotH + 16))" text-anchor="middle">\##(Axis.label(t))</text>"##)
        }
        for t in logY ? Axis.logTicks(y0, y1) : Axis.ticks(y0, y1) {
            let y = logY ? top + plotH - (t - y0) / (y1 - y0) * plotH : py(t)
            out.append(##"<line x1="\##(fmt(left))" y1="\##(fmt(y))" x2="\##(fmt(left + plotW))" y2="\##(fmt(y))" stroke="#e5e5e5"/>"##)
            out.append(##"<text x="\##(fmt(left - 6))" y="\##(fmt(y + 4))" text-anchor="end">\##(logY ? Axis.label(pow(10, t)) : Axis.label(t))</text>"##)
        }
        out.append(##"<rect x="\##(fmt(left))" y="\##(fmt(top))" width="\##(fmt(plotW))" height="\##(fmt(plotH))" fill="none" stroke="#333"/>"##)
        out.append(##"<text x="\##(fmt(left + plotW / 2))" y="\##(fmt(height - 12))" text-anchor="middle">\##(escape(xLabel))</text>"##)
        out.append(##"<text x="16" y="\##(fmt(top + plotH / 2))" text-anchor="middle" transform="rotate(-90 16 \##(fmt(top + plotH / 2)))">\##(escape(yLabel))</text>"##)
        // Lines, and a dot where a series has a single point.
        for (i, points) in usable.enumerated() {
            let colour = Self.palette[i % Self.palette.count]
            let path = points.map { "\(fmt(px($0.x))),\(fmt(py($0.y)))" }.joined(separator: " ")
            if points.count == 1 {
                out.append(##"<circle cx="\##(fmt(px(points[0].x)))" cy="\##(fmt(py(points[0].y)))" r="3" fill="\##(colour)"/>"##)
            } else if !points.isEmpty {
                out.append(##"<polyline class="series" data-name="\##(escape(series[i].name))" fill="none" stroke="\##(colour)" stroke-width="2" points="\##(path)"/>"##)
            }
        }
        // Legend, top right inside the plot, on a white ground.
        if !series.isEmpty {
            let longest = Double(series.map(\.name.count).max() ?? 0)
            out.append(##"<rect x="\##(fmt(left + plotW - 156))" y="\##(fmt(top + 2))" width="\##(fmt(min(150, 34 + 7 * longest)))" height="\##(fmt(Double(series.count) * 18 + 4))" fill="white" fill-opacity="0.85"/>"##)
        }
        for (i, s) in series.enumerated() {
            let y = top + 14 + Double(i) * 18, x = left + plotW - 150
            out.append(##"<line x1="\##(fmt(x))" y1="\##(fmt(y - 4))" x2="\##(fmt(x + 20))" y2="\##(fmt(y - 4))" stroke="\##(Self.palette[i % Self.palette.count])" stroke-width="2"/>"##)
            out.append(##"<text x="\##(fmt(x + 26))" y="\##(fmt(y))">\##(escape(s.name))</text>"##)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}

/// Text for SVG: the five XML special characters escaped.
func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        .replacingOccurrences(of: "'", with: "&apos;")
}

/// A coordinate with at most two decimals.
func fmt(_ v: Double) -> String { String(format: "%.2f", v) }

/// Axis ranges and "nice" ticks (1, 2 or 5 times a power of ten).
enum Axis {
    /// The data's range, widened when empty or flat.
    static func range(_ values: [Double]) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (0, 1) }
        if lo == hi { return (lo - 0.5, hi + 0.5) }
        return (lo, hi)
    }

    /// About six round values within [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 6, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var t = (lo / step).rounded(.up) * step, out: [Double] = []
        while t <= hi + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    /// Whole decades within [lo, hi] (in log10 units), at least the two ends.
    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let decades = Array(stride(from: ceil(lo), through: floor(hi), by: 1))
        return decades.count >= 2 ? decades : [lo, hi]
    }

    /// A tick's text: short, without trailing zeros; scientific for very small or large values.
    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e5 || abs(v) < 1e-3 { return String(format: "%.0e", v) }
        var s = String(format: "%.4f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}

extension LineChart {
    /// Several charts one above the other in one SVG document, each `width` × `height`.
    public static func stack(_ charts: [LineChart], width: Double = 640, height: Double = 360) -> String {
        var out = [##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(fmt(width))" height="\##(fmt(height * Double(charts.count)))">"##]
        for (i, chart) in charts.enumerated() {
            let inner = chart.svg(width: width, height: height)
                .replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\"", with: "<svg y=\"\(fmt(height * Double(i)))\"")
            out.append(inner)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}
