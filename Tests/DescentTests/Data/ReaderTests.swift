import Descent
import Foundation
import XCTest

/// The IDX and CSV readers on the small files of Tests/Fixtures/data (Scripts/make_data_files.py):
/// 5 images of 4×3 pixels, pixel (n, y, x) = (31n + 7y + 3x) mod 256, label n mod 3; and bad
/// files, each refused with an error naming the file and the problem.
final class ReaderTests: XCTestCase {
    static func path(_ name: String) -> String { Fixtures.path("data/" + name) }

    static let expectedPixels: [Float] = {
        var out: [Float] = []
        for n in 0..<5 {
            for y in 0..<4 {
                for x in 0..<3 {
                    let v: Int = (n * 31 + y * 7 + x * 3) % 256
                    out.append(Float(v) / 255)
                }
            }
        }
        return out
    }()

    private func assertImages(_ d: ImageDataset, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(d.images.shape, [5, 1, 4, 3], what, file: file, line: line)
        XCTAssertEqual(d.images.dtype, .float32, what, file: file, line: line)
        XCTAssertEqual(d.labels.toArray(Int64.self), [0, 1, 2, 0, 1], what, file: file, line: line)
        XCTAssertEqual(d.classes, 3, what, file: file, line: line)
        let got = d.images.scalars
        for (a, b) in zip(got, Self.expectedPixels) { XCTAssertEqual(a, b, accuracy: 1e-7, what, file: file, line: line) }
    }

    private func assertError(_ body: @autoclosure () throws -> Any, _ file: String, _ message: String,
                             sourceFile: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: sourceFile, line: line) { error in
            guard let e = error as? DataError else { return XCTFail("not a DataError: \(error)", file: sourceFile, line: line) }
            XCTAssertTrue(e.path.hasSuffix(file), "\(e)", file: sourceFile, line: line)
            XCTAssertTrue(e.message.contains(message), "expected '\(message)' in \(e)", file: sourceFile, line: line)
        }
    }

    func testIDXPlainAndGzip() throws {
        assertImages(try IDX.images(Self.path("images.idx"), labels: Self.path("labels.idx")), "plain")
        XCTAssertTrue(IDX.gzipAvailable, "the system's zlib should be loadable here")
        assertImages(try IDX.images(Self.path("images.idx.gz"), labels: Self.path("labels.idx.gz")), "gzip")
        let floats = try IDX.read(Self.path("floats.idx"))
        XCTAssertEqual(floats.shape, [2, 3])
        XCTAssertEqual(floats.scalars, [0.5, -1.25, 3, 1e-3, 2.5, -7])
        XCTAssertEqual(try IDX.read(Self.path("int32.idx")).toArray(Int64.self), [-2, 70000, 0, 5])
    }

    func testBadIDXFilesGiveClearErrors() {
        assertError(try IDX.read(Self.path("missing.idx")), "missing.idx", "no such file")
        assertError(try IDX.read(Self.path("truncated.idx")), "truncated.idx", "needs 60 bytes of data, the file has 55")
        assertError(try IDX.read(Self.path("bad_magic.idx")), "bad_magic.idx", "not an IDX file")
        assertError(try IDX.read(Self.path("bad_type.idx")), "bad_type.idx", "unknown IDX type code 0x7")
        assertError(try IDX.read(Self.path("huge_shape.idx")), "huge_shape.idx", "needs 281474976710656 bytes of data")
        assertError(try IDX.read(Self.path("truncated.idx.gz")), "truncated.idx.gz", "the gzip data ends early")
        assertError(try IDX.read(Self.path("not_gzip.idx.gz")), "not_gzip.idx.gz", "is not valid gzip data")
        assertError(try IDX.images(Self.path("images.idx"), labels: Self.path("labels_short.idx")), "labels_short.idx",
                    "has 4 labels for the 5 images")
        assertError(try IDX.images(Self.path("images.idx"), labels: Self.path("labels_big.idx"), classes: 3), "labels_big.idx",
                    "label 9 is out of range for 3 classes")
        assertError(try IDX.images(Self.path("empty.idx"), labels: Self.path("empty_labels.idx")), "empty.idx", "holds no images")
        assertError(try IDX.images(Self.path("labels.idx"), labels: Self.path("labels.idx")), "labels.idx", "expected images of shape")
    }

    func testCSVLayouts() throws {
        assertImages(try CSVImages.read(Self.path("first.csv"), height: 4, width: 3), "label first")
        assertImages(try CSVImages.read(Self.path("first.csv.gz"), height: 4), "gzip, height only")
        assertImages(try CSVImages.read(Self.path("header.csv"), width: 3), "header row and CRLF")
        assertImages(try CSVImages.read(Self.path("last.csv"), labelColumn: .last, height: 4, width: 3), "label last")
    }

    func testBadCSVFilesGiveClearErrors() {
        assertError(try CSVImages.read(Self.path("first.csv")), "first.csv", "rows have 12 pixels, which is not a square image")
        assertError(try CSVImages.read(Self.path("first.csv"), height: 5, width: 3), "first.csv", "height × width = 5 × 3")
        assertError(try CSVImages.read(Self.path("ragged.csv"), height: 4), "ragged.csv", "line 6 has 3 fields, the rows before it 13")
        assertError(try CSVImages.read(Self.path("not_number.csv"), height: 4), "not_number.csv", "line 2: field 2 is '3x1', not a finite number")
        assertError(try CSVImages.read(Self.path("nan.csv"), height: 4), "nan.csv", "line 2: field 2 is 'nan', not a finite number")
        assertError(try CSVImages.read(Self.path("bad_label.csv"), height: 4), "bad_label.csv", "the label 1.5 is not a non-negative integer")
        assertError(try CSVImages.read(Self.path("header_only.csv")), "header_only.csv", "holds no rows of data")
        assertError(try CSVImages.read(Self.path("first.csv"), height: 4, classes: 2), "first.csv", "line 3: label 2 is out of range for 2 classes")
        assertError(try CSVImages.read(Self.path("nope.csv")), "nope.csv", "no such file")
    }

    func testEmbeddedDigits() throws {
        let digits = try Digits.load()
        XCTAssertEqual(digits.train.images.shape, [1437, 1, 8, 8])
        XCTAssertEqual(digits.test.images.shape, [360, 1, 8, 8])
        XCTAssertEqual(digits.train.classes, 10)
        let all = digits.train.labels.toArray(Int64.self) + digits.test.labels.toArray(Int64.self)
        // The UCI test set's class counts (scikit-learn's load_digits).
        XCTAssertEqual((0..<10).map { c in all.filter { $0 == c }.count }, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
        XCTAssertEqual(digits.train.images.amax().item, 1)
        XCTAssertEqual(digits.train.images.amin().item, 0)
        let (mean, std) = digits.train.channelStatistics
        let normalized = digits.train.normalized(mean: mean, std: std)
        XCTAssertEqual(normalized.images.mean().itemDouble, 0, accuracy: 1e-5)
        XCTAssertEqual(normalized.images.variance(dims: [0, 1, 2, 3], correction: 0).itemDouble, 1, accuracy: 1e-4)
    }

    /// PGM (binary and text) and PNG (rows filtered with each of PNG's five filters) give the
    /// same pixels: (40y + 9x + 3) mod 256, scaled to [0, 1].
    func testImageFiles() throws {
        func expected(rows: Int) -> [Float] {
            var out: [Float] = []
            for y in 0..<rows { for x in 0..<5 { out.append(Float((y < 4 ? 40 * y + 9 * x + 3 : 7 * x + 200) % 256) / 255) } }
            return out
        }
        for name in ["image.pgm", "image_text.pgm", "image.png"] {
            let t = try ImageFile.read(Self.path(name))
            XCTAssertEqual(t.shape, [1, 4, 5], name)
            XCTAssertEqual(t.scalars, expected(rows: 4), name)
        }
        let paeth = try ImageFile.read(Self.path("image_paeth.png"))
        XCTAssertEqual(paeth.shape, [1, 5, 5])
        XCTAssertEqual(paeth.scalars, expected(rows: 5))
        assertError(try ImageFile.read(Self.path("rgb.png")), "rgb.png", "only 8-bit grayscale PNG is read (bit depth 8, colour type 2 found)")
        assertError(try ImageFile.read(Self.path("truncated.png")), "truncated.png", "truncated")
        assertError(try ImageFile.read(Self.path("not_image.png")), "not_image.png", "is neither a PNG nor a PGM image")
        assertError(try ImageFile.read(Self.path("absent.png")), "absent.png", "no such file")
    }
}
