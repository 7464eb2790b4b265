import Foundation

/// The IDX format of the MNIST files (LeCun et al.): two zero bytes, a type code (0x08 unsigned
/// byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
/// dims, each dim as a big-endian int32, then the values, big-endian, row-major. Files may be
/// gzip-compressed (`.gz`, read through the system's zlib).
public enum IDX {
    /// Whether .gz files (IDX and CSV alike) can be read: the system's zlib was found.
    public static var gzipAvailable: Bool { Kernels.zlibAvailable }

    /// Reads an IDX file (plain or .gz) as a tensor of its shape: float32 for float types,
    /// int64 for integer types. Every field is checked against the file's size before anything
    /// is allocated; a bad file throws a `DataError` naming it.
    public static func read(_ path: String) throws -> Tensor {
        try parse(readMaybeGzip(path), path: path)
    }

    /// Parses IDX bytes; `path` names them in errors.
    public static func parse(_ data: Data, path: String = "<memory>") throws -> Tensor {
        try parse(data, path: path, floats: false)
    }

    /// Parses IDX bytes; with `floats`, integer types too become float32 (image pixels).
    static func parse(_ data: Data, path: String, floats: Bool) throws -> Tensor {
        func fail(_ m: String) -> DataError { DataError(path: path, message: m) }
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw fail("truncated: \(bytes.count) bytes, shorter than the 4-byte IDX header") }
        guard bytes[0] == 0, bytes[1] == 0 else { throw fail("not an IDX file (it does not start with two zero bytes)") }
        let size: Int
        switch bytes[2] {
        case 0x08, 0x09: size = 1
        case 0x0B: size = 2
        case 0x0C, 0x0D: size = 4
        case 0x0E: size = 8
        default: throw fail("unknown IDX type code 0x\(String(bytes[2], radix: 16))")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw fail("an IDX file needs at least one dimension") }
        guard bytes.count >= 4 + 4 * rank else { throw fail("truncated: the header declares \(rank) dims, the file ends first") }
        var shape: [Int] = []
        var count = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let n = Int(UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3]))
            shape.append(n)
            let (c, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail("the shape \(Shape.describe(shape)) holds more values than fit in memory") }
            count = c
        }
        let start = 4 + 4 * rank
        guard Shape.extent(shape) != nil else { throw fail("the shape \(Shape.describe(shape)) is too large to index (its dims' product overflows)") }
        let (needed, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, needed == bytes.count - start else {
            throw fail("the shape \(Shape.describe(shape)) needs \(overflow ? "more than fit in memory" : "\(needed) bytes") of data, the file has \(bytes.count - start)")
        }
        func be(_ i: Int, _ n: Int) -> UInt64 { (0..<n).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[start + i * n + $1]) } }
        if floats && bytes[2] == 0x08 { return Tensor(shape: shape, scalars: bytes[start...].map { Float($0) }) }
        switch bytes[2] {
        case 0x08: return Tensor(shape: shape, scalars: bytes[start...].map { Int64($0) })
        case 0x09: return Tensor(shape: shape, scalars: bytes[start...].map { Int64(Int8(bitPattern: $0)) })
        case 0x0B: return Tensor(shape: shape, scalars: (0..<count).map { Int64(Int16(bitPattern: UInt16(be($0, 2)))) })
        case 0x0C: return Tensor(shape: shape, scalars: (0..<count).map { Int64(Int32(bitPattern: UInt32(be($0, 4)))) })
        case 0x0D: return Tensor(shape: shape, scalars: (0..<count).map { Float(bitPattern: UInt32(be($0, 4))) })
        default: return Tensor(shape: shape, scalars: (0..<count).map { Float(Double(bitPattern: be($0, 8))) })
        }
    }

    /// An MNIST-style image set: `images` (N, H, W) or (N, H, W, C) of unsigned bytes, scaled
    /// to [0, 1], and `labels` (N) of classes.
    /// - Parameters:
    ///   - images: The path of the images file (plain or .gz).
    ///   - labels: The path of the labels file (plain or .gz).
    ///   - classes: The number of classes (default: the largest label + 1).
    public static func images(_ images: String, labels: String, classes: Int? = nil) throws -> ImageDataset {
        let raw = try readMaybeGzip(images)
        let x = try parse(raw, path: images, floats: true), y = try read(labels)
        guard x.rank == 3 || x.rank == 4 else {
            throw DataError(path: images, message: "expected images of shape (N, H, W) or (N, H, W, C), got \(Shape.describe(x.shape))")
        }
        guard y.rank == 1, y.dtype == .int64 else {
            throw DataError(path: labels, message: "expected one integer label per image, got shape \(Shape.describe(y.shape))")
        }
        guard y.shape[0] == x.shape[0] else {
            throw DataError(path: labels, message: "has \(y.shape[0]) labels for the \(x.shape[0]) images of '\(images)'")
        }
        guard x.shape[0] > 0 else { throw DataError(path: images, message: "holds no images") }
        if x.dtype != .int64 {
            let perImage = x.count / x.shape[0], v = x.to(.float32).toArray(Float.self)
            if let i = v.firstIndex(where: { !$0.isFinite }) {
                throw DataError(path: images, message: "pixel \(i % perImage) of image \(i / perImage) is \(v[i]), not a finite number")
            }
        }
        let values = y.toArray(Int64.self)
        if let bad = values.first(where: { $0 < 0 || (classes != nil && $0 >= Int64(classes!)) }) {
            throw DataError(path: labels, message: "label \(bad) is out of range\(classes.map { " for \($0) classes" } ?? "")")
        }
        let pixels = x.rank == 3 ? x.unsqueeze(1) : x.permute([0, 3, 1, 2])
        let scale = raw[raw.startIndex + 2] == 0x08 ? 255.0 : 1.0  // unsigned bytes: pixels 0…255
        return ImageDataset(images: pixels.to(.float32) / scale, labels: y, classes: classes)
    }
}
