import Foundation

/// Grayscale images side by side as SVG (each pixel a rectangle): learned filters, feature maps,
/// reconstructions. Each image is scaled to its own range (or a shared one) and drawn with a
/// caption under it.
public struct ImageGrid {
    /// One image: rows of values and a caption.
    public struct Image {
        /// The pixel values, row by row (all rows of one length).
        public var pixels: [[Double]]
        /// The caption under the image.
        public var caption: String
        /// - Parameters:
        ///   - pixels: The values, row by row.
        ///   - caption: The caption under the image.
        public init(_ pixels: [[Double]], caption: String = "") { self.pixels = pixels; self.caption = caption }
    }

    /// The title above the grid.
    public var title: String
    /// The images, in reading order.
    public var images: [Image]
    /// Images per row.
    public var columns: Int
    /// Whether all images share one grey scale (else each is scaled to its own range).
    public var sharedScale: Bool

    /// - Parameters:
    ///   - title: The title above the grid.
    ///   - images: The images.
    ///   - columns: Images per row, default 8.
    ///   - sharedScale: One grey scale for all images, default false.
    public init(title: String, images: [Image], columns: Int = 8, sharedScale: Bool = false) {
        self.title = title; self.images = images; self.columns = max(1, columns); self.sharedScale = sharedScale
    }

    /// The grid as an SVG document, each image `cell` pixels square.
    public func svg(cell: Double = 64) -> String {
        let rows = (images.count + columns - 1) / columns, gap = 8.0, captionHeight = 16.0
        let width = Double(columns) * (cell + gap) + gap, height = 34 + Double(rows) * (cell + gap + captionHeight)
        let all = images.flatMap { $0.pixels.joined() }.filter(\.isFinite)
        var out = [##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(fmt(width))" height="\##(fmt(height))" font-family="sans-serif" font-size="11">"##,
                   ##"<rect width="100%" height="100%" fill="white"/>"##,
                   ##"<text x="\##(fmt(width / 2))" y="20" text-anchor="middle" font-size="14">\##(escape(title))</text>"##]
        for (i, image) in images.enumerated() {
            let x0 = gap + Double(i % columns) * (cell + gap), y0 = 30 + Double(i / columns) * (cell + gap + captionHeight)
            let values = image.pixels.joined().filter(\.isFinite)
            let lo = (sharedScale ? all : values).min() ?? 0, hi = (sharedScale ? all : values).max() ?? 1
            let h = image.pixels.count, w = image.pixels.first?.count ?? 0
            guard h > 0, w > 0 else { continue }
            let pw = cell / Double(w), ph = cell / Double(h)
            out.append(##"<g class="image" data-caption="\##(escape(image.caption))">"##)
            for (r, row) in image.pixels.enumerated() {
                for (c, v) in row.enumerated() {
                    // A uniform image is drawn mid-grey; a non-finite pixel black.
                    let level = !v.isFinite ? 0 : hi > lo ? Int(((v - lo) / (hi - lo) * 255).rounded()) : 128
                    out.append(##"<rect x="\##(fmt(x0 + Double(c) * pw))" y="\##(fmt(y0 + Double(r) * ph))" width="\##(fmt(pw + 0.3))" height="\##(fmt(ph + 0.3))" fill="rgb(\##(level),\##(level),\##(level))"/>"##)
                }
            }
            out.append("</g>")
            out.append(##"<text x="\##(fmt(x0 + cell / 2))" y="\##(fmt(y0 + cell + 12))" text-anchor="middle">\##(escape(image.caption))</text>"##)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}
