import CDescentKernels
@testable import Descent
import XCTest

/// A test case that changes the settings of the bfloat16 products: each test leaves them as it
/// found them (AMX as the process started, dot products on, the tile emulation off, the thread
/// count).
class BFloat16TestCase: XCTestCase {
    /// Whether AMX was on before the test (on by default where the CPU and Linux allow it).
    private(set) var savedMatrixUnits = false
    private var savedThreads = 1
    override func setUp() {
        savedMatrixUnits = Kernels.bfloat16MatrixUnits
        savedThreads = Descent.threads
    }
    override func tearDown() {
        Kernels.bfloat16DotProducts = true
        Kernels.bfloat16MatrixUnits = savedMatrixUnits
        _ = dk_bgemm_amx_model(0)
        Descent.threads = savedThreads
    }

    /// Where the products run: float32 emulation, AVX512-BF16 dot products, the AMX path on the
    /// emulated tile registers, or on the tiles.
    enum Products: CaseIterable {
        case emulated, dotProducts, tilesModel, tiles
        /// The kinds this CPU runs.
        static var here: [Products] {
            let dot = dk_bgemm_avx512bf16_available() != 0, amx = dk_bgemm_amx_available() != 0
            return [.emulated] + (dot ? [.dotProducts, .tilesModel] : []) + (amx ? [.tiles] : [])
        }
        func select() {
            Kernels.bfloat16DotProducts = self != .emulated
            Kernels.bfloat16MatrixUnits = self == .tiles
            XCTAssertEqual(dk_bgemm_amx_model(self == .tilesModel ? 1 : 0) != 0, self == .tilesModel)
            XCTAssertEqual(dk_amx_path() != 0, self == .tiles || self == .tilesModel)
        }
    }

    /// Runs `body` on `products` with autocast's rounding left to the kernels and again with its
    /// rounding passes (`Kernels.roundingInKernels`), and asserts the two bit for bit equal,
    /// part by part (`parts` names the values `body` returns, the output first, which must hold
    /// bfloat16 values). Returns the result's `gradFn` each way, for the caller to check.
    func assertRoundingInKernelsMatchesPasses(_ products: Products, _ name: String, parts: [String],
                                              _ body: () -> (gradFn: String?, values: [[Float]])) -> (kernels: String?, passes: String?) {
        func run(inKernels: Bool) -> (gradFn: String?, values: [[Float]]) {
            products.select()
            defer {
                Products.dotProducts.select()
                Kernels.roundingInKernels = true
            }
            Kernels.roundingInKernels = inKernels
            return body()
        }
        let kernels = run(inKernels: true), passes = run(inKernels: false)
        XCTAssertEqual(kernels.values.count, parts.count, name)
        XCTAssertEqual(passes.values.count, parts.count, name)
        for (part, (p, q)) in zip(parts, zip(kernels.values, passes.values)) {
            XCTAssertEqual(zip(p, q).filter { $0 != $1 }.count, 0, "\(name): \(part) values that differ")
        }
        XCTAssertEqual(kernels.values.first?.filter { $0 != BFloat16.round($0) }.count, 0, "\(name): output values that are not bfloat16")
        return (kernels.gradFn, passes.gradFn)
    }
}
