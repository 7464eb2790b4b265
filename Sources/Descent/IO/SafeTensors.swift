import Foundation

/// An error reading or writing a safetensors file: which file, and what is wrong with it.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file's path.
    public let path: String
    /// What is wrong.
    public let message: String
    /// `safetensors file 'PATH': MESSAGE`.
    public var description: String { "safetensors file '\(path)': \(message)" }
}

/// The safetensors format (as written by Hugging Face's `safetensors` library): an 8-byte
/// little-endian header length, a JSON header mapping each name to its dtype, shape and byte
/// range, optional `__metadata__` (string to string), then the raw little-endian data.
///
/// Descent writes F32, F64, I64 and BF16; it reads those, F16 (into float32) and
/// I32, I16, I8, U8 and BOOL (into int64). Reading checks every field and throws a
/// `SafeTensorsError` naming the file and the problem; it never traps on a bad file.
public struct SafeTensors {
    /// The tensors in file order (sorted by data offset).
    public var tensors: [(name: String, tensor: Tensor)]
    /// The `__metadata__` entries.
    public var metadata: [String: String]

    /// A file's content: tensors in order (names must be unique) and string metadata.
    /// - Parameters:
    ///   - tensors: (name, tensor) pairs, names unique; written in this order.
    ///   - metadata: The `__metadata__` entries, default none.
    public init(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor named `name`, if present.
    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }

    /// The tensors by name.
    public var dictionary: [String: Tensor] { Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a }) }

    private static let maxHeader = 100_000_000

    /// Reads a safetensors file.
    public static func load(from path: String) throws -> SafeTensors {
        let data: Data
        do { data = try readWholeFile(path) } catch {
            throw SafeTensorsError(path: path, message: "cannot be read (\(error.localizedDescription))")
        }
        return try parse(data, path: path)
    }

    /// Parses safetensors bytes; `path` is used in error messages.
    public static func parse(_ data: Data, path: String = "<memory>") throws -> SafeTensors {
        func fail(_ m: String) -> SafeTensorsError { SafeTensorsError(path: path, message: m) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= UInt64(maxHeader) else { throw fail("header length \(n) is larger than the 100 MB limit") }
        guard n <= UInt64(data.count - 8) else { throw fail("header length \(n) runs past the end of the file (\(data.count) bytes)") }
        let headerBytes = data.subdata(in: 8..<(8 + Int(n)))
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes),
              let header = json as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        // JSON parsers keep one of two equal keys; a file that names a tensor twice is refused.
        var seen = Set<String>()
        for key in topLevelKeys([UInt8](headerBytes)) where !seen.insert(key).inserted {
            throw fail("names '\(key)' twice in its header")
        }
        let dataStart = 8 + Int(n), dataSize = data.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not a JSON object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("entry '\(name)' is not a JSON object") }
            guard let dtype = info["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype") }
            guard let shapeAny = info["shape"] as? [Any] else { throw fail("tensor '\(name)' has no shape list") }
            let shape = try shapeAny.map { v -> Int in
                guard let i = Self.integer(v), i >= 0 else { throw fail("tensor '\(name)' has an invalid shape \(shapeAny)") }
                return i
            }
            guard let offs = info["data_offsets"] as? [Any], offs.count == 2,
                  let b = Self.integer(offs[0]), let e = Self.integer(offs[1]) else {
                throw fail("tensor '\(name)' has no valid data_offsets [begin, end]")
            }
            guard let size = elementSize(dtype) else { throw fail("tensor '\(name)' has unknown dtype '\(dtype)'") }
            guard b >= 0, b <= e, e <= dataSize else {
                throw fail("tensor '\(name)' data_offsets [\(b), \(e)] are out of range of the \(dataSize)-byte data section")
            }
            // Every product is overflow-checked: a shape whose element count or byte size does not
            // fit in Int is refused, not trapped on.
            var bytes: Int? = shape.contains(0) ? 0 : size
            for d in shape {
                guard let n = bytes else { break }
                let (p, overflow) = n.multipliedReportingOverflow(by: d)
                bytes = overflow ? nil : p
            }
            guard let bytes, bytes == e - b else {
                throw fail("tensor '\(name)' has \(e - b) bytes but shape \(Shape.describe(shape)) × \(dtype) needs \(bytes.map(String.init) ?? "more than fit in memory")")
            }
            guard Shape.extent(shape) != nil else {
                throw fail("tensor '\(name)' has a shape \(Shape.describe(shape)) too large to index (its dims' product overflows)")
            }
            entries.append((name, dtype, shape, b, e))
        }
        entries.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (x, y) in zip(entries, entries.dropFirst()) where y.begin < x.end {
            throw fail("tensors '\(x.name)' and '\(y.name)' overlap (bytes \(x.begin)..<\(x.end) and \(y.begin)..<\(y.end))")
        }
        let tensors = data.withUnsafeBytes { raw -> [(name: String, tensor: Tensor)] in
            entries.map { ($0.name, decode(raw.baseAddress! + dataStart + $0.begin, dtype: $0.dtype, shape: $0.shape)) }
        }
        return SafeTensors(tensors: tensors, metadata: metadata)
    }

    /// The keys of a JSON object's top level, in order and with repeats (the text is known to
    /// parse as an object).
    private static func topLevelKeys(_ bytes: [UInt8]) -> [String] {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":")
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        var keys: [String] = [], depth = 0, i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == quote {
                let start = i
                i += 1
                while i < bytes.count && bytes[i] != quote { i += bytes[i] == backslash ? 2 : 1 }
                let token = Array(bytes[start..<min(i + 1, bytes.count)])
                i += 1
                var j = i
                while j < bytes.count && isSpace(bytes[j]) { j += 1 }
                if depth == 1 && j < bytes.count && bytes[j] == colon {
                    // Decode escapes the way the parser did, so "\u0061" and "a" are one name.
                    let decoded = token.contains(backslash)
                        ? (try? JSONSerialization.jsonObject(with: Data("[".utf8 + token + "]".utf8)) as? [String])?.first
                        : String(decoding: token.dropFirst().dropLast(), as: UTF8.self)
                    keys.append(decoded ?? String(decoding: token, as: UTF8.self))
                }
                continue
            }
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
            if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") { depth -= 1 }
            i += 1
        }
        return keys
    }

    private static func integer(_ v: Any) -> Int? {
        if let i = v as? Int { return i }
        if let d = v as? Double, d == d.rounded(), Swift.abs(d) < 1e18 { return Int(d) }
        return nil
    }

    private static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64": return 8
        case "F32", "I32": return 4
        case "F16", "BF16", "I16": return 2
        case "I8", "U8", "BOOL": return 1
        default: return nil
        }
    }

    private static func decode(_ p: UnsafeRawPointer, dtype: String, shape: [Int]) -> Tensor {
        let n = Shape.count(shape)
        func load<T>(_: T.Type, _ i: Int) -> T { p.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self) }
        let out: Tensor
        switch dtype {
        case "F32":
            out = Tensor(uninitialized: shape, dtype: .float32)
            out.storage.pointer.copyMemory(from: p, byteCount: n * 4)
        case "F64":
            out = Tensor(uninitialized: shape, dtype: .float64)
            out.storage.pointer.copyMemory(from: p, byteCount: n * 8)
        case "I64":
            out = Tensor(uninitialized: shape, dtype: .int64)
            out.storage.pointer.copyMemory(from: p, byteCount: n * 8)
        case "F16":
            out = Tensor(uninitialized: shape, dtype: .float32)
            let q = out.storage.typed(Float.self)
            for i in 0..<n { q[i] = halfToFloat(UInt16(littleEndian: load(UInt16.self, i))) }
        case "BF16":
            out = Tensor(uninitialized: shape, dtype: .bfloat16)
            let q = out.storage.typed(BFloat16.self)
            for i in 0..<n { q[i] = BFloat16(bitPattern: UInt16(littleEndian: load(UInt16.self, i))) }
        default:
            out = Tensor(uninitialized: shape, dtype: .int64)
            let q = out.storage.typed(Int64.self)
            for i in 0..<n {
                switch dtype {
                case "I32": q[i] = Int64(Int32(littleEndian: load(Int32.self, i)))
                case "I16": q[i] = Int64(Int16(littleEndian: load(Int16.self, i)))
                case "I8": q[i] = Int64(load(Int8.self, i))
                default: q[i] = Int64(load(UInt8.self, i))
                }
            }
        }
        return out
    }

    /// IEEE half to float, including subnormals, infinities and NaN.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1F), frac = UInt32(h & 0x3FF)
        if exp == 0 {
            let v = Float(frac) * 0x1p-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (frac << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (frac << 13))
    }

    /// The file's bytes: header padded with spaces to a multiple of 8, then the data.
    public func serialized() -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, t) in tensors {
            let bytes = t.count * t.dtype.byteSize
            let code = switch t.dtype {
            case .float32: "F32"
            case .float64: "F64"
            case .int64: "I64"
            case .bfloat16: "BF16"
            }
            header[name] = ["dtype": code, "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in tensors {
            let c = t.contiguousData()
            out.append(Data(bytes: c.storage.pointer + c.offset * c.dtype.byteSize, count: c.count * c.dtype.byteSize))
        }
        return out
    }

    /// Writes the file atomically (a temporary file beside it, flushed to disk, then renamed
    /// into place), so a crash never leaves a half-written file under `path`.
    public func save(to path: String) throws {
        do { try AtomicFile.write(serialized(), to: path) } catch {
            throw SafeTensorsError(path: path, message: "cannot be written (\(error))")
        }
    }
}
