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
}
