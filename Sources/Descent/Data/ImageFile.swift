import Foundation

/// Single images from files: binary or text PGM (P5, P2) and PNG, 8-bit grayscale, read as a
/// float32 tensor (1, H, W) with pixels scaled to [0, 1]. PNG's image data is inflated through
/// the system's zlib, loaded at run time.
public enum ImageFile {
    /// Reads a grayscale image; throws a `DataError` naming the file and the problem.
    public static func read(_ path: String) throws -> Tensor {
        let data = try readFile(path)
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try png([UInt8](data), path: path) }
        if data.starts(with: [0x50, 0x35]) || data.starts(with: [0x50, 0x32]) { return try pgm([UInt8](data), path: path) }
        throw DataError(path: path, message: "is neither a PNG nor a PGM image")
    }

    /// P5 (binary) or P2 (text) PGM with a maximum value up to 255.
    static func pgm(_ bytes: [UInt8], path: String) throws -> Tensor {
        func fail(_ m: String) -> DataError { DataError(path: path, message: m) }
        var i = 2
        func token() throws -> Int {
            while i < bytes.count {
                if bytes[i] == 0x23 { while i < bytes.count && bytes[i] != 0x0A { i += 1 } }  // a comment
                else if bytes[i] == 0x20 || (bytes[i] >= 0x09 && bytes[i] <= 0x0D) { i += 1 } else { break }
            }
            var v = 0, digits = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                v = v * 10 + Int(bytes[i] - 0x30); digits += 1; i += 1
                guard v < 1 << 30 else { throw fail("a header number is too large") }
            }
            guard digits > 0 else { throw fail("the PGM header is incomplete or not numeric") }
            return v
        }
        let w = try token(), h = try token(), maxValue = try token()
        guard w > 0, h > 0, maxValue > 0, maxValue <= 255 else {
            throw fail("expected an 8-bit PGM (width, height > 0, maximum value 1…255), got \(w)×\(h) with maximum \(maxValue)")
        }
        let (count, overflow) = w.multipliedReportingOverflow(by: h)
        guard !overflow else { throw fail("\(w)×\(h) pixels do not fit in memory") }
        var pixels: [Float] = []
        if bytes[1] == 0x35 {
            i += 1  // the one whitespace byte after the maximum value
            guard bytes.count - i >= count else { throw fail("truncated: \(count) pixels expected, \(max(0, bytes.count - i)) bytes found") }
            pixels = bytes[i..<i + count].map { Float($0) / Float(maxValue) }
        } else {
            pixels.reserveCapacity(count)
            for _ in 0..<count {
                let v = try token()
                guard v <= maxValue else { throw fail("a pixel value \(v) exceeds the maximum \(maxValue)") }
                pixels.append(Float(v) / Float(maxValue))
            }
        }
        return Tensor(shape: [1, h, w], scalars: pixels)
    }

    /// An 8-bit grayscale, non-interlaced PNG.
    static func png(_ bytes: [UInt8], path: String) throws -> Tensor {
        func fail(_ m: String) -> DataError { DataError(path: path, message: m) }
        func be32(_ o: Int) -> Int { Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]) }
        var o = 8, w = 0, h = 0
        var compressed = Data(), sawHeader = false, ended = false
        while o + 8 <= bytes.count {
            let length = be32(o), type = String(decoding: bytes[o + 4..<o + 8], as: UTF8.self)
            guard length >= 0, length <= bytes.count - o - 12 else { throw fail("truncated: the \(type) chunk runs past the end of the file") }
            let body = bytes[o + 8..<o + 8 + length]
            switch type {
            case "IHDR":
                guard length == 13 else { throw fail("the IHDR chunk has \(length) bytes, not 13") }
                w = be32(o + 8); h = be32(o + 12)
                let depth = body[body.startIndex + 8], colour = body[body.startIndex + 9], interlace = body[body.startIndex + 12]
                guard depth == 8, colour == 0 else {
                    throw fail("only 8-bit grayscale PNG is read (bit depth \(depth), colour type \(colour) found); save the image as 8-bit grayscale")
                }
                guard interlace == 0 else { throw fail("interlaced PNG is not read; save the image without interlacing") }
                guard w > 0, h > 0, w <= 1 << 16, h <= 1 << 16 else { throw fail("image size \(w)×\(h) is out of range") }
                sawHeader = true
            case "IDAT": compressed.append(contentsOf: body)
            case "IEND": ended = true
            default: break
            }
            if ended { break }
            o += 12 + length
        }
        guard sawHeader else { throw fail("has no IHDR chunk") }
        guard ended, !compressed.isEmpty else { throw fail("truncated: no image data or no IEND chunk") }
        let rowBytes = w + 1
        let raw: Data
        do { raw = try Kernels.inflateZlib(compressed, expected: h * rowBytes) } catch let failure as Kernels.GunzipFailure {
            throw fail(failure == .noZlib ? "reading PNG needs the system's zlib, which was not found (install zlib1g)" : "its image data is corrupt or truncated")
        }
        guard raw.count >= h * rowBytes else { throw fail("its image data holds \(raw.count) bytes, \(h * rowBytes) expected") }
        let data = [UInt8](raw)
        var pixels = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            let filter = data[y * rowBytes], row = y * rowBytes + 1
            for x in 0..<w {
                let v = Int(data[row + x])
                let a = x > 0 ? Int(pixels[y * w + x - 1]) : 0, b = y > 0 ? Int(pixels[(y - 1) * w + x]) : 0
                let c = x > 0 && y > 0 ? Int(pixels[(y - 1) * w + x - 1]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw fail("row \(y) has an unknown filter type \(filter)")
                }
                pixels[y * w + x] = UInt8((v + predicted) & 0xFF)
            }
        }
        return Tensor(shape: [1, h, w], scalars: pixels.map { Float($0) / 255 })
    }
}
