/// An n-dimensional array of `float32`, `float64` or `int64` values, with reverse-mode
/// automatic differentiation.
///
/// A tensor is a view: a `shape`, `strides` (in elements) and an `offset` into a shared
/// `Storage`. View operations (`reshape` of contiguous data, `permute`, `transpose`,
/// `expand`, `narrow`, `squeeze`, `unsqueeze`) share storage; `contiguous()` copies when needed.
/// Tensors have reference semantics, like PyTorch's.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6] as [Float])
/// x.requiresGrad = true
/// let y = (x * x).sum()
/// y.backward()
/// print(x.grad!)   // 2 * x
/// ```
public final class Tensor {
    /// The shared buffer this tensor views. (Never reassigned: settable only so that backward can
    /// ask `isKnownUniquelyReferenced` of it; unchecked, as a `let` would be.)
    @exclusivity(unchecked) public internal(set) var storage: Storage
    /// Sizes of each dimension; `[]` for a scalar (0-d) tensor.
    public let shape: [Int]
    /// Step in elements between neighbours along each dimension (0 for expanded dimensions).
    public let strides: [Int]
    /// Index of the first element in `storage`.
    public let offset: Int

    /// The node of the autograd graph that produced this tensor (or, for a leaf that
    /// requires a gradient, the node that accumulates into `grad`).
    var gradNode: GradNode?
    var isLeafRequiringGrad = false
    /// Set by a kernel on the fresh output it wrote already rounded to bfloat16 values (the
    /// bf16 direct convolution's, the bf16 GEMM's), and kept by views of it, so that autocast's
    /// rounding of it (`bfloat16Rounded`) makes no second pass. Only set on tensors that
    /// autocast rounds next and nothing else sees, or that only ops read (a gradient on its way
    /// back: the engine clears the mark before one becomes a `grad`).
    var holdsBFloat16Values = false
    /// The accumulated gradient (leaves, and non-leaves after `retainGrad()`).
    public var grad: Tensor?

    init(storage: Storage, shape: [Int], strides: [Int], offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A new contiguous tensor with uninitialized memory.
    init(uninitialized shape: [Int], dtype: DType) {
        let n = Shape.count(shape)
        self.storage = Storage(count: n, dtype: dtype)
        self.shape = shape
        self.strides = Shape.contiguousStrides(shape)
        self.offset = 0
    }

    /// Creates a tensor from Swift values in row-major order.
    ///
    /// - Precondition: `scalars.count` equals the product of `shape`.
    /// - Parameters:
    ///   - shape: The sizes of the dims (non-negative).
    ///   - scalars: The values in row-major order, as many as the shape holds; their type sets the dtype.
    public convenience init<T: TensorScalar>(shape: [Int], scalars: [T]) {
        check(shape.allSatisfy { $0 >= 0 }, "[Tensor] negative size in shape \(Shape.describe(shape))")
        check(Shape.count(shape) == scalars.count,
              "[Tensor] shape \(Shape.describe(shape)) needs \(Shape.count(shape)) values, got \(scalars.count)")
        self.init(uninitialized: shape, dtype: T.dtype)
        scalars.withUnsafeBufferPointer { src in
            storage.typed(T.self).update(from: src.baseAddress!, count: scalars.count)
        }
    }

    /// A 1-D tensor of the given values, of their type (`[Float]` → float32, `[Int64]` → int64).
    /// - Parameter scalars: The values.
    public convenience init<T: TensorScalar>(_ scalars: [T]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// A 2-D tensor from rows of equal length, of their type.
    /// - Parameter rows: The rows, all of one length.
    public convenience init<T: TensorScalar>(_ rows: [[T]]) {
        let cols = rows.first?.count ?? 0
        check(rows.allSatisfy { $0.count == cols }, "[Tensor] rows of different lengths: \(rows.map(\.count))")
        self.init(shape: [rows.count, cols], scalars: rows.flatMap { $0 })
    }

    /// A 0-d (scalar) tensor of the value's type.
    /// - Parameter value: The value.
    public convenience init<T: TensorScalar>(_ value: T) {
        self.init(shape: [], scalars: [value])
    }

    /// A tensor of integers, int64 as PyTorch makes them: `Tensor([0, 1])`, `Tensor(labels)`.
    /// - Parameters:
    ///   - shape: The sizes of the dims.
    ///   - scalars: The values in row-major order.
    public convenience init(shape: [Int], scalars: [Int]) {
        self.init(shape: shape, scalars: scalars.map { Int64($0) })
    }

    /// A 1-D int64 tensor: `Tensor([0, 1, 2])` (PyTorch's `torch.tensor([0, 1, 2])`).
    /// - Parameter scalars: The values.
    public convenience init(_ scalars: [Int]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A 2-D int64 tensor from rows of equal length.
    /// - Parameter rows: The rows, all of one length.
    public convenience init(_ rows: [[Int]]) { self.init(rows.map { $0.map { Int64($0) } }) }

    /// A 0-d int64 tensor: `Tensor(3)`.
    /// - Parameter value: The value.
    public convenience init(_ value: Int) { self.init(shape: [], scalars: [Int64(value)]) }

    /// A 1-D tensor of floating-point values, float32 by default as in PyTorch
    /// (`Tensor([0.5, 1.5])` is `torch.tensor([0.5, 1.5])`); pass `dtype: .float64` to keep
    /// double precision. (`Tensor(shape:scalars:)` keeps the values' own type.)
    /// - Parameters:
    ///   - scalars: The values.
    ///   - dtype: The element type, float32 by default.
    public convenience init(_ scalars: [Double], dtype: DType = .float32) {
        self.init(uninitialized: [scalars.count], dtype: dtype)
        for (i, v) in scalars.enumerated() { setElement(i, v) }
    }

    /// A 2-D tensor from rows of floating-point values, float32 by default (see `init(_:dtype:)`).
    /// - Parameters:
    ///   - rows: The rows, all of one length.
    ///   - dtype: The element type, float32 by default.
    public convenience init(_ rows: [[Double]], dtype: DType = .float32) {
        let cols = rows.first?.count ?? 0
        check(rows.allSatisfy { $0.count == cols }, "[Tensor] rows of different lengths: \(rows.map(\.count))")
        self.init(uninitialized: [rows.count, cols], dtype: dtype)
        for (i, v) in rows.joined().enumerated() { setElement(i, v) }
    }

    /// A 0-d tensor of `dtype` (float32 by default, as PyTorch) holding `value`.
    /// - Parameters:
    ///   - value: The value (truncated toward zero for int64).
    ///   - dtype: The element type, float32 by default.
    public convenience init(_ value: Double, dtype: DType = .float32) {
        self.init(uninitialized: [], dtype: dtype)
        switch dtype {
        case .float32: storage.typed(Float.self)[0] = Float(value)
        case .float64: storage.typed(Double.self)[0] = value
        case .int64: storage.typed(Int64.self)[0] = Int64(value)
        case .bfloat16: storage.typed(BFloat16.self)[0] = BFloat16(fromDouble: value)
        }
    }

    // MARK: Basic properties

    /// The element type.
    public var dtype: DType { storage.dtype }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Shape.count(shape) }
    /// Size of dimension `dim` (negative counts from the end).
    public func size(_ dim: Int) -> Int { shape[Shape.normalize(dim, rank: rank, op: "size")] }
    /// Whether the elements are laid out in row-major order without gaps.
    public var isContiguous: Bool { Shape.isContiguous(shape, strides) }

    // MARK: Reading values

    /// The values in row-major order, converted to `T`.
    public func toArray<T: TensorScalar>(_: T.Type = T.self) -> [T] {
        let c = contiguousData()
        let n = c.count
        switch c.dtype {
        case .float32:
            let p = c.storage.typed(Float.self) + c.offset
            if T.self == Float.self { return Array(UnsafeBufferPointer(start: p, count: n)) as! [T] }
            return (0..<n).map { T(fromDouble: Double(p[$0])) }
        case .float64:
            let p = c.storage.typed(Double.self) + c.offset
            if T.self == Double.self { return Array(UnsafeBufferPointer(start: p, count: n)) as! [T] }
            return (0..<n).map { T(fromDouble: p[$0]) }
        case .int64:
            let p = c.storage.typed(Int64.self) + c.offset
            if T.self == Int64.self { return Array(UnsafeBufferPointer(start: p, count: n)) as! [T] }
            return (0..<n).map { T(fromDouble: Double(p[$0])) }
        case .bfloat16:
            let p = c.storage.typed(BFloat16.self) + c.offset
            if T.self == BFloat16.self { return Array(UnsafeBufferPointer(start: p, count: n)) as! [T] }
            return (0..<n).map { T(fromDouble: p[$0].asDouble) }
        }
    }

    /// The values in row-major order as `Float`.
    public var scalars: [Float] { toArray(Float.self) }

    /// The single value of a one-element tensor, as `Float`.
    public var item: Float { Float(itemDouble) }

    /// The single value of a one-element tensor, as `Double`.
    public var itemDouble: Double {
        check(count == 1, "[item] a tensor with \(count) elements cannot be converted to a scalar; shape \(Shape.describe(shape))")
        return element(at: offset)
    }

    /// The element at a storage index, as Double.
    @inline(__always) func element(at index: Int) -> Double {
        switch dtype {
        case .float32: return Double(storage.typed(Float.self)[index])
        case .float64: return storage.typed(Double.self)[index]
        case .int64: return Double(storage.typed(Int64.self)[index])
        case .bfloat16: return storage.typed(BFloat16.self)[index].asDouble
        }
    }

    /// The value at a multi-index (negative indices count from the end), as Double.
    public subscript(index indices: Int...) -> Double {
        check(indices.count == rank, "[subscript] expected \(rank) indices for shape \(Shape.describe(shape)), got \(indices.count)")
        var pos = offset
        for (d, i) in indices.enumerated() {
            let j = i < 0 ? i + shape[d] : i
            check(j >= 0 && j < shape[d], "[subscript] index \(i) out of range for dim \(d) of size \(shape[d])")
            pos += j * strides[d]
        }
        return element(at: pos)
    }

    /// This tensor if contiguous with offset usable directly, else a contiguous copy (no autograd).
    func contiguousData() -> Tensor {
        isContiguous ? self : Kernels.copyToContiguous(self)
    }

    /// A (rows × cols) view of a contiguous tensor at element `offset` (no autograd).
    func rowsView(_ rows: Int, _ cols: Int, at offset: Int) -> Tensor {
        Tensor(storage: storage, shape: [rows, cols], strides: [cols, 1], offset: self.offset + offset)
    }
}
