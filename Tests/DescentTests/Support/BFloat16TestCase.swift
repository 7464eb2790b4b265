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
}
