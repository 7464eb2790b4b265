@testable import Descent
import XCTest

final class TensorTests: XCTestCase {
    func testCreationMatchesPyTorch() throws {
        let f = try Fixtures.load("creation.safetensors")
        assertClose(Tensor.arange(0, 10, step: 3), f["arange"]!, "arange")            // torch.arange(0, 10, 3)
        assertClose(Tensor.arange(-1, 1, step: 0.3), f["arange_frac"]!, "arange frac")  // torch.arange(-1, 1, 0.3)
        assertClose(Tensor.linspace(-1, 1, steps: 7), f["linspace"]!, rtol: 0, atol: 0, "linspace")
        assertClose(Tensor.linspace(0, 1, steps: 10, dtype: .float64), f["linspace_f64"]!, rtol: 0, atol: 0, "linspace f64")
        assertClose(Tensor.eye(3, 4), f["eye"]!, "eye")
    }

    func testConstantsAndLikes() {
        XCTAssertEqual(Tensor.full([2, 2], 7).scalars, [7, 7, 7, 7])
        XCTAssertEqual(Tensor.ones([3], dtype: .int64).toArray(Int64.self), [1, 1, 1])
        XCTAssertEqual(Tensor.zeros(like: Tensor.ones([2, 3], dtype: .float64)).dtype, .float64)
        XCTAssertEqual(Tensor.zeros([0, 3]).count, 0)
    }

    func testRandomIsSeededAndDistributed() {
        Descent.manualSeed(7)
        let a = Tensor.randn([10_000])
        Descent.manualSeed(7)
        let b = Tensor.randn([10_000])
        XCTAssertEqual(a.scalars, b.scalars)
        XCTAssertEqual(a.mean().itemDouble, 0, accuracy: 0.05)
        XCTAssertEqual(a.std().itemDouble, 1, accuracy: 0.05)
        let u = Tensor.uniform([10_000], low: -2, high: 3)
        XCTAssertGreaterThanOrEqual(u.min().itemDouble, -2)
        XCTAssertLessThan(u.max().itemDouble, 3)
        XCTAssertEqual(u.mean().itemDouble, 0.5, accuracy: 0.05)
        let r = Tensor.randint([1000], low: 3, high: 6)
        XCTAssertEqual(r.dtype, .int64)
        XCTAssertEqual(Set(r.toArray(Int64.self)), [3, 4, 5])
        let n = Tensor.normal([10_000], mean: 5, std: 2, dtype: .float64)
        XCTAssertEqual(n.mean().itemDouble, 5, accuracy: 0.1)
        XCTAssertEqual(n.std().itemDouble, 2, accuracy: 0.1)
        XCTAssertEqual(Set(Tensor.randperm(10).toArray(Int64.self)), Set(0..<10))
    }

    func testViewsShareStorage() {
        let x = Tensor.arange(0, 12).reshape(3, 4)
        let views = [x.t, x.reshape(4, 3), x.narrow(dim: 1, start: 1, length: 2), x.unsqueeze(0), x[1],
                     x.slice(dim: 0, 1..<3), x.permute(1, 0), x.reshape(1, 12).expand(2, 12)]
        for v in views { XCTAssertTrue(v.storage === x.storage) }
        XCTAssertFalse(x.t.isContiguous)
        XCTAssertTrue(x.t.contiguous().isContiguous)
        XCTAssertEqual(x.t.contiguous().scalars, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        XCTAssertEqual(x.narrow(dim: 1, start: 1, length: 2).scalars, [1, 2, 5, 6, 9, 10])
        // Writing through a view changes the base.
        x[1].fill(-1)
        XCTAssertEqual(x.scalars[4...7], [-1, -1, -1, -1])
    }

    func testItemSubscriptAndCasts() {
        let x = Tensor(shape: [2, 2], scalars: [1.5, -2.5, 3, 4] as [Float])
        XCTAssertEqual(x[index: 1, 0], 3)
        XCTAssertEqual(x[index: -1, -1], 4)
        XCTAssertEqual(x.sum().item, 6)
        XCTAssertEqual(x.long().toArray(Int64.self), [1, -2, 3, 4])
        XCTAssertEqual(x.double().dtype, .float64)
        XCTAssertEqual((Tensor([1, 2] as [Int64]) + 0.5).dtype, .float32)
        XCTAssertEqual((Tensor([1, 2] as [Int64]) + Tensor([1, 2] as [Float])).dtype, .float32)
        XCTAssertEqual((Tensor([1, 2] as [Float]) + Tensor([1, 2], dtype: .float64)).dtype, .float64)
    }

    func testPrintingLikePyTorch() {
        XCTAssertEqual(Tensor([1, 2.5] as [Float]).description, "tensor([1.0000, 2.5000])")
        XCTAssertEqual(Tensor([1, 2] as [Float]).description, "tensor([1., 2.])")
        XCTAssertEqual(Tensor([3, -1] as [Int64]).description, "tensor([ 3, -1])")
        XCTAssertEqual(Tensor(shape: [2, 2], scalars: [1, -2, 3, 4] as [Float]).description,
                       "tensor([[ 1., -2.],\n        [ 3.,  4.]])")
        XCTAssertEqual(Tensor([0.5] as [Double], dtype: .float64).description, "tensor([0.5000], dtype=torch.float64)")
        XCTAssertEqual(Tensor([1] as [Float]).requiringGrad().description, "tensor([1.], requires_grad=True)")
        XCTAssertEqual(Tensor.zeros([0, 3]).description, "tensor([], size=(0, 3))")
        // repr(torch.arange(0, 2000.)) and repr(torch.tensor([nan, 1.5, inf])) in PyTorch 2.15:
        XCTAssertEqual(Tensor.arange(0, 2000).description,
                       "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])")
        XCTAssertEqual(Tensor([.nan, 1.5, .infinity] as [Float]).description, "tensor([   nan, 1.5000,    inf])")
        XCTAssertEqual(Tensor(Float(2.5)).description, "tensor(2.5000)")
        XCTAssertEqual(Tensor([1e-5, 1] as [Float]).description, "tensor([1.0000e-05, 1.0000e+00])")
    }

    func testThreadsSetting() {
        let before = Descent.threads
        XCTAssertGreaterThanOrEqual(before, 1)
        Descent.threads = 1
        let a = Tensor.randn([300, 300]), b = Tensor.randn([300, 300])
        let one = a.matmul(b).scalars
        Descent.threads = before
        assertClose(a.matmul(b), Tensor(shape: [300, 300], scalars: one), rtol: 1e-4, atol: 1e-4, "same product on 1 thread")
    }

    func testLargeElementwiseUsesAllRunsCorrectly() {
        // Large enough to be split across threads, contiguous and strided.
        let x = Tensor.arange(0, 300_000).reshape(600, 500)
        let y = (x.t * 2).contiguous()
        XCTAssertEqual(y[index: 499, 599], 2 * 299_999)
        XCTAssertEqual(x.sum().itemDouble, 299_999.0 * 300_000 / 2, accuracy: 1e4)  // float32 spacing is 4096 here
        XCTAssertEqual(x.sum(dim: 0)[index: 3], Double((0..<600).map { $0 * 500 + 3 }.reduce(0, +)), accuracy: 1)
    }

    /// PyTorch's dtypes for values written in Swift: integers are int64, floating literals and
    /// Doubles float32 (the default dtype) unless a dtype is given; typed arrays keep their type.
    func testLiteralsTakePyTorchsDtypes() {
        XCTAssertEqual(Tensor([0, 1]).dtype, .int64)
        let labels: [Int] = [3, 1, 4]
        XCTAssertEqual(Tensor(labels).dtype, .int64)
        XCTAssertEqual(Tensor(labels).toArray(Int64.self), [3, 1, 4])
        XCTAssertEqual(Tensor([[1, 2], [3, 4]]).shape, [2, 2])
        XCTAssertEqual(Tensor([[1, 2], [3, 4]]).dtype, .int64)
        XCTAssertEqual(Tensor(shape: [2], scalars: [5, 6]).dtype, .int64)
        XCTAssertEqual(Tensor(7).dtype, .int64)
        XCTAssertEqual(Tensor([0.5, 1.5]).dtype, .float32)
        XCTAssertEqual(Tensor([0.5, 1.5]).scalars, [0.5, 1.5])
        XCTAssertEqual(Tensor([[0.5], [1.5]]).dtype, .float32)
        XCTAssertEqual(Tensor(2.5).dtype, .float32)
        XCTAssertEqual(Tensor([0.1], dtype: .float64).toArray(Double.self), [0.1])
        XCTAssertEqual(Tensor([1, 2] as [Float]).dtype, .float32)
        XCTAssertEqual(Tensor([1, 2] as [Int64]).dtype, .int64)
        XCTAssertEqual(Tensor(shape: [1], scalars: [0.25] as [Double]).dtype, .float64)
        XCTAssertEqual(DType.float32.description, "float32")
    }

    /// A program that defines its own `Tensor` can still name Descent's as `Descent.Tensor`
    /// (no type in the module is called `Descent`).
    func testModuleQualifiedNames() {
        enum UserProgram {
            struct Tensor { let values: [Float] }
            static func run() -> (Tensor, Descent.Tensor) {
                Descent.manualSeed(1)
                return (Tensor(values: [1]), Descent.Tensor.zeros([2]))
            }
        }
        let (mine, theirs) = UserProgram.run()
        XCTAssertEqual(mine.values, [1])
        XCTAssertEqual(theirs.shape, [2])
    }
}
