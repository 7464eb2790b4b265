import Foundation

/// Images in a CSV file, one per row: a label column and the pixels in row-major order (as
/// the MNIST and Fashion-MNIST CSV exports). A first row that is not all numbers is a header.
public enum CSVImages {
    /// Where the label is in each row.
    public enum LabelColumn: String, Sendable, CaseIterable {
        /// The first field is the label.
        case first
        /// The last field is the label.
        case last
    }

    /// Reads labelled images from a CSV file (plain or .gz). Pixels are scaled to [0, 1]
    /// (divided by 255) when any is above 1.
    /// - Parameters:
    ///   - path: The file.
    ///   - labelColumn: Where the label is, `.first` (default) or `.last`.
    ///   - height: The images' height (default: the square root of the pixel count).
    ///   - width: The images' width (default: pixels / height).
    ///   - classes: The number of classes (default: the largest label + 1).
    /// - Throws: `DataError` naming the file and the line for a missing file, a row of another
    ///   length, a value that is not a number, a label that is not a non-negative integer (or
    ///   is out of range), or no rows at all.
    public static func read(_ path: String, labelColumn: LabelColumn = .first, height: Int? = nil, width: Int? = nil,
                            classes: Int? = nil) throws -> ImageDataset {
        let bytes = [UInt8](try readMaybeGzip(path))
        func fail(_ m: String) -> DataError { DataError(path: path, message: m) }
        var values: [Float] = []
        var labels: [Int64] = []
        var fieldsPerRow = -1, line = 0, start = 0
        var row: [Double] = []
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            line += 1
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            defer { start = end + 1 }
            if lineEnd == start { continue }  // blank line
            row.removeAll(keepingCapacity: true)
            var numeric = true, badField = (column: 0, text: "")
            var f = start
            while f <= lineEnd {
                var e = f
                while e < lineEnd && bytes[e] != 0x2C { e += 1 }
                if let v = number(bytes, f, e) { row.append(v) } else {
                    if numeric { badField = (row.count + 1, String(decoding: bytes[f..<e], as: UTF8.self)) }
                    numeric = false; row.append(.nan)
                }
                f = e + 1
            }
            if !numeric {
                if labels.isEmpty && fieldsPerRow < 0 { fieldsPerRow = row.count; continue }  // a header
                throw fail("line \(line): field \(badField.column) is '\(badField.text.prefix(20))', not a finite number")
            }
            if fieldsPerRow < 0 { fieldsPerRow = row.count }
            guard row.count == fieldsPerRow else {
                throw fail("line \(line) has \(row.count) fields, the rows before it \(fieldsPerRow)")
            }
            guard row.count >= 2 else { throw fail("line \(line): expected a label and at least one pixel") }
            let label = labelColumn == .first ? row[0] : row[row.count - 1]
            guard label >= 0, label == label.rounded(), label < 1e9 else {
                throw fail("line \(line): the label \(label) is not a non-negative integer")
            }
            if let classes, Int(label) >= classes { throw fail("line \(line): label \(Int(label)) is out of range for \(classes) classes") }
            labels.append(Int64(label))
            let pixels = labelColumn == .first ? row.dropFirst() : row.dropLast()
            values.append(contentsOf: pixels.map { Float($0) })
        }
        guard !labels.isEmpty else { throw fail("holds no rows of data") }
        let pixels = fieldsPerRow - 1
        let side = Int(Double(pixels).squareRoot().rounded())
        let h = height ?? (width.map { pixels / $0 } ?? side)
        let w = width ?? (height != nil ? (h > 0 ? pixels / h : 0) : side)
        guard h > 0, w > 0, h * w == pixels else {
            throw fail("rows have \(pixels) pixels, which is not \(height != nil || width != nil ? "height × width = \(h) × \(w)" : "a square image: give the height and width")")
        }
        var images = Tensor(shape: [labels.count, 1, h, w], scalars: values)
        if values.contains(where: { $0 > 1 }) { images = images / 255 }
        return ImageDataset(images: images, labels: Tensor(shape: [labels.count], scalars: labels), classes: classes)
    }

    /// The number in bytes[from..<to] (spaces around it allowed), or nil.
    private static func number(_ bytes: [UInt8], _ from: Int, _ to: Int) -> Double? {
        var a = from, b = to
        while a < b && (bytes[a] == 0x20 || bytes[a] == 0x22) { a += 1 }
        while b > a && (bytes[b - 1] == 0x20 || bytes[b - 1] == 0x22) { b -= 1 }
        guard a < b else { return nil }
        // Fast path: a plain unsigned integer (pixels, labels).
        var v = 0.0, plain = true
        for i in a..<b {
            let d = bytes[i]
            if d >= 0x30 && d <= 0x39 { v = v * 10 + Double(d - 0x30) } else { plain = false; break }
        }
        if plain { return v }
        return Double(String(decoding: bytes[a..<b], as: UTF8.self)).flatMap { $0.isFinite ? $0 : nil }
    }
}
