import CDescentKernels
import Foundation

// gzip decompression through the system's zlib, loaded at run time (zlib.c).
extension Kernels {
    /// Why a gzip stream could not be inflated.
    enum GunzipFailure: Error {
        /// No zlib library could be loaded.
        case noZlib
        /// The data ends before the gzip stream does.
        case truncated
        /// The data is not a valid gzip stream.
        case corrupt
    }

    /// Whether the system's zlib is there to read .gz files.
    static var zlibAvailable: Bool { dk_zlib_available() != 0 }

    /// The bytes of the first gzip stream in `data`. Deflate expands by at most 1032×, so the
    /// output is never allowed to grow past that bound (a stream that claims more is corrupt).
    static func gunzip(_ data: Data) throws -> Data {
        guard zlibAvailable else { throw GunzipFailure.noZlib }
        guard data.count >= 18, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else {
            throw data.count < 18 && data.starts(with: [0x1F, 0x8B]) ? GunzipFailure.truncated : GunzipFailure.corrupt
        }
        // The trailer's ISIZE is the size modulo 2³², a good first guess.
        let isize = data.suffix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return try inflate(data, gzip: true, expected: isize)
    }

    /// The bytes of the zlib stream in `data` (PNG's image data), expected to be about
    /// `expected` bytes long.
    static func inflateZlib(_ data: Data, expected: Int) throws -> Data {
        guard zlibAvailable else { throw GunzipFailure.noZlib }
        return try inflate(data, gzip: false, expected: expected)
    }

    private static func inflate(_ data: Data, gzip: Bool, expected: Int) throws -> Data {
        guard !data.isEmpty else { throw GunzipFailure.truncated }
        let limit = data.count.multipliedReportingOverflow(by: 1032).overflow ? Int.max : data.count * 1032
        var capacity = Swift.min(Swift.max(expected, 4 * data.count, 1 << 16), limit)
        while true {
            var out = Data(count: capacity)
            var consumed: Int64 = 0, produced: Int64 = 0
            let status = data.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { output in
                    dk_inflate(input.bindMemory(to: UInt8.self).baseAddress!, Int64(input.count),
                               output.bindMemory(to: UInt8.self).baseAddress!, Int64(output.count), gzip ? 1 : 0, &consumed, &produced)
                }
            }
            switch status {
            case 1: return out.prefix(Int(produced))
            case 2:
                guard capacity < limit else { throw GunzipFailure.corrupt }
                capacity = Swift.min(capacity.multipliedReportingOverflow(by: 2).overflow ? limit : capacity * 2, limit)
            case 0: throw GunzipFailure.truncated
            case -3: throw GunzipFailure.noZlib
            default: throw GunzipFailure.corrupt
            }
        }
    }
}
