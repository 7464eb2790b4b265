import Descent
import Foundation
import XCTest

final class SafeTensorsTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("descent-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// The tensors of Tests/Fixtures/written_by_descent.safetensors, which
    /// Scripts/make_fixtures.py loads with `safetensors.torch.load_file` and checks.
    private func descentSample() -> SafeTensors {
        SafeTensors(tensors: [
            ("weight", Tensor.arange(0, 6).reshape(2, 3) / 4),
            ("bias", Tensor(shape: [2], scalars: [1.5, -2.0] as [Double])),
            ("steps", Tensor(Int64(7))),
            ("half", Tensor([1.0, -2.5, 1 + 0x1p-8, 1 + 3 * 0x1p-8, 3.0e38, 1.0e-3]).to(.bfloat16)),
        ], metadata: ["format": "pt", "producer": "descent"])
    }

    func testReadsEveryDtypeWrittenByPyTorch() throws {
        // Written by safetensors.torch.save_file in Scripts/make_fixtures.py.
        let f = try Fixtures.load("from_pytorch.safetensors")
        XCTAssertEqual(f.metadata, ["producer": "pytorch", "note": "interop"])
        XCTAssertEqual(f["f32"]!.dtype, .float32)
        XCTAssertEqual(f["f32"]!.shape, [2, 3])
        XCTAssertEqual(f["f64"]!.dtype, .float64)
        XCTAssertEqual(f["i64"]!.toArray(Int64.self), [1, -2, 3, 1 << 40])
        assertClose(f["f16"]!, f["f16_as_f32"]!, rtol: 0, atol: 0, "F16 read as float32")
        XCTAssertEqual(f["bf16"]!.dtype, .bfloat16)
        assertClose(f["bf16"]!.float(), f["bf16_as_f32"]!, rtol: 0, atol: 0, "BF16 read as bfloat16")
        XCTAssertEqual(f["i32"]!.toArray(Int64.self), [7, -8])
        XCTAssertEqual(f["u8"]!.toArray(Int64.self), [0, 255])
        XCTAssertEqual(f["scalar"]!.shape, [])
        XCTAssertEqual(f["scalar"]!.item, 3.5)
        XCTAssertEqual(f["empty"]!.shape, [0, 4])
    }

    /// float32 → bfloat16 rounds as PyTorch's `.bfloat16()` to the bit (ties to even, overflow
    /// to ∞, subnormals, NaN), by the cast and by `bfloat16Rounded`, and a BF16 file round-trips.
    func testBFloat16RoundingMatchesPyTorch() throws {
        let f = try Fixtures.load("from_pytorch.safetensors")
        let input = f["bf16_round_in"]!, expected = f["bf16_round_out"]!
        XCTAssertEqual(expected.dtype, .bfloat16)
        // Bits, with every NaN as one (PyTorch's vectorized cast writes 0xFFFF, its scalar one 0x7FC0).
        let bits = { (t: Tensor) in t.toArray(BFloat16.self).map { $0.float.isNaN ? 0x7FC0 : $0.bitPattern } }
        let cast = input.to(.bfloat16)
        XCTAssertEqual(cast.dtype, .bfloat16)
        XCTAssertEqual(bits(cast), bits(expected))
        let rounded = input.bfloat16Rounded().scalars, exact = expected.float().scalars
        XCTAssertEqual(rounded.map { $0.isNaN ? 0 : $0.bitPattern }, exact.map { $0.isNaN ? 0 : $0.bitPattern }, "bfloat16Rounded")
        XCTAssertEqual(rounded.map(\.isNaN), exact.map(\.isNaN))
        XCTAssertEqual(input.double().to(.bfloat16).toArray(BFloat16.self).map(\.bitPattern), bits(expected), "from float64")
        let path = tmp.appendingPathComponent("bf16.safetensors").path
        try SafeTensors(tensors: [("h", cast.reshape(2, -1).t)]).save(to: path)
        let back = try SafeTensors.load(from: path)["h"]!
        XCTAssertEqual(back.dtype, .bfloat16)
        XCTAssertEqual(bits(back), bits(cast.reshape(2, -1).t.contiguous()))
    }

    func testWritesTheBytesPyTorchVerified() throws {
        let path = Fixtures.path("written_by_descent.safetensors")
        let bytes = descentSample().serialized()
        if !FileManager.default.fileExists(atPath: path) {
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTFail("wrote \(path); run Scripts/make_fixtures.py to verify it in PyTorch and commit it")
            return
        }
        XCTAssertEqual(bytes, try Data(contentsOf: URL(fileURLWithPath: path)),
                       "Descent's writer changed: regenerate written_by_descent.safetensors and re-verify it in PyTorch")
    }

    func testRoundTripWithMetadataAndNonContiguousTensors() throws {
        let path = tmp.appendingPathComponent("round.safetensors").path
        let x = Tensor.randn([3, 4]).t
        try SafeTensors(tensors: [("x", x), ("i", Tensor([1, 2, 3] as [Int64]))], metadata: ["k": "v"]).save(to: path)
        let back = try SafeTensors.load(from: path)
        XCTAssertEqual(back.metadata, ["k": "v"])
        assertClose(back["x"]!, x.contiguous(), rtol: 0, atol: 0, "x")
        XCTAssertEqual(back["i"]!.toArray(Int64.self), [1, 2, 3])
    }

    // MARK: Bad files: each gives a thrown error naming the file and the problem.

    private func header(_ json: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
        var d = Data()
        var n = (declaredLength ?? UInt64(json.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(Data(json.utf8))
        d.append(contentsOf: data)
        return d
    }

    private func assertRejects(_ bytes: Data, containing text: String, file: StaticString = #filePath, line: UInt = #line) {
        let path = tmp.appendingPathComponent("bad.safetensors").path
        try! bytes.write(to: URL(fileURLWithPath: path))
        do {
            _ = try SafeTensors.load(from: path)
            XCTFail("expected an error containing '\(text)'", file: file, line: line)
        } catch let error as SafeTensorsError {
            XCTAssertEqual(error.path, path, file: file, line: line)
            XCTAssertTrue(error.description.contains(path), file: file, line: line)
            XCTAssertTrue(error.message.contains(text), "'\(error.message)' lacks '\(text)'", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testRejectsTruncatedFile() {
        assertRejects(Data([1, 2, 3]), containing: "truncated")
    }

    func testRejectsHeaderLengthPastEnd() {
        assertRejects(header("{}", declaredLength: 4096), containing: "past the end")
    }

    func testRejectsHeaderThatIsNotJSON() {
        assertRejects(header("{not json"), containing: "not a JSON object")
        assertRejects(header("[1, 2]"), containing: "not a JSON object")
    }

    func testRejectsUnknownDtype() {
        assertRejects(header(#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), containing: "unknown dtype 'Q4'")
    }

    func testRejectsOffsetsOutOfRange() {
        assertRejects(header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]),
                      containing: "out of range")
        assertRejects(header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
                      containing: "out of range")
    }

    func testRejectsByteCountThatDoesNotMatchShape() {
        assertRejects(header(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
                      containing: "needs 12")
    }

    /// Sizes whose element count fits in Int but whose byte count does not (F32 × 2⁶²), or whose
    /// element count does not: an error, never a trap.
    func testRejectsShapesWhoseByteSizeOverflows() {
        assertRejects(header(#"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      containing: "needs more than fit in memory")
        assertRejects(header(#"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
                      containing: "needs more than fit in memory")
        // A zero dim makes the size 0 whatever the other dims.
        XCTAssertEqual(try SafeTensors.parse(header(#"{"a":{"dtype":"F32","shape":[4611686018427387904,0],"data_offsets":[0,0]}}"#, data: []))["a"]?.shape,
                       [4611686018427387904, 0])
    }

    func testRejectsOverlappingTensors() {
        let json = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertRejects(header(json, data: [UInt8](repeating: 0, count: 12)), containing: "overlap")
    }

    func testRejectsBadShapeAndMissingFields() {
        assertRejects(header(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#), containing: "invalid shape")
        assertRejects(header(#"{"a":{"dtype":"F32","data_offsets":[0,0]}}"#), containing: "no shape")
        assertRejects(header(#"{"a":{"shape":[],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), containing: "no dtype")
        assertRejects(header(#"{"a":{"dtype":"F32","shape":[1]}}"#), containing: "data_offsets")
        assertRejects(header(#"{"__metadata__":{"k":1}}"#), containing: "not a string")
    }

    func testMissingFileIsAnErrorNotACrash() {
        XCTAssertThrowsError(try SafeTensors.load(from: tmp.appendingPathComponent("nope.safetensors").path)) { error in
            XCTAssertTrue("\(error)".contains("nope.safetensors"))
        }
    }
}
