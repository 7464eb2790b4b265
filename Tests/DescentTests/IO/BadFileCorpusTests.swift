import Descent
import Foundation
import XCTest

/// The committed corpus of bad files (Tests/Fixtures/bad, from Scripts/make_bad_files.py): each
/// is refused with a thrown error that names the file and what is wrong with it, never a crash.
final class BadFileCorpusTests: XCTestCase {
    /// Each safetensors file of the corpus and a part of the message it must give.
    static let safetensors: [(file: String, problem: String)] = [
        ("empty.safetensors", "truncated: 0 bytes, shorter than the 8-byte header length"),
        ("truncated.safetensors", "data_offsets [0, 16] are out of range of the 10-byte data section"),
        ("header_cut.safetensors", "header length 57 runs past the end of the file (20 bytes)"),
        ("lying_header_length.safetensors", "header length 4096 runs past the end of the file (81 bytes)"),
        ("huge_header_length.safetensors", "header length 4611686018427387904 is larger than the 100 MB limit"),
        ("header_not_json.safetensors", "header is not a JSON object"),
        ("header_is_a_list.safetensors", "header is not a JSON object"),
        ("out_of_bounds.safetensors", "data_offsets [0, 64] are out of range of the 16-byte data section"),
        ("reversed_offsets.safetensors", "data_offsets [8, 4] are out of range"),
        ("overlapping.safetensors", "tensors 'a' and 'b' overlap (bytes 0..<12 and 4..<16)"),
        ("overflowing_shape.safetensors", "needs more than fit in memory"),
        ("shape_mismatch.safetensors", "has 16 bytes but shape (3, 3) × F32 needs 36"),
        ("negative_shape.safetensors", "tensor 'w' has an invalid shape [-4]"),
        ("unknown_dtype.safetensors", "tensor 'w' has unknown dtype 'F24'"),
        ("duplicate_names.safetensors", "names 'w' twice in its header"),
        ("metadata_not_string.safetensors", "__metadata__ value for 'epoch' is not a string"),
        ("missing_offsets.safetensors", "tensor 'w' has no valid data_offsets"),
        ("zero_dim_huge_shape.safetensors", "has a shape (0, 1099511627776, 1099511627776) too large to index"),
    ]

    func testEverySafetensorsFileIsRefusedWithItsProblem() {
        for (file, problem) in Self.safetensors {
            XCTAssertThrowsError(try SafeTensors.load(from: Fixtures.path("bad/" + file)), file) { error in
                XCTAssertTrue("\(error)".contains("bad/\(file)'"), "\(file): \(error)")
                XCTAssertTrue("\(error)".contains(problem), "\(file): \(error)")
            }
        }
        // Every file of the corpus is in a table here or below.
        let listed = Set(Self.safetensors.map(\.file) + ["other_model_checkpoint.safetensors", "nan_pixels-images.idx",
                                                          "nan_pixels-labels.idx", "ends_early-labels.idx.gz",
                                                          "fuzz_zero_dim_huge_shape.idx"])
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: Fixtures.path("bad"))) ?? [])
        XCTAssertEqual(present, listed)
    }

    /// A checkpoint whose model tensors are another model's loads as a checkpoint, but not into
    /// the model: the error lists the missing and unexpected keys.
    func testCheckpointOfAnotherModel() throws {
        let checkpoint = try Checkpoint.load(from: Fixtures.path("bad/other_model_checkpoint.safetensors"))
        let cnn = Sequential { Conv2d(1, 8, kernelSize: 3, padding: 1); ReLU(); Flatten(); Linear(512, 10) }
        XCTAssertThrowsError(try cnn.loadStateDict(checkpoint.model)) { error in
            XCTAssertTrue("\(error)".contains("missing keys: 0.weight, 0.bias, 3.weight, 3.bias"), "\(error)")
            XCTAssertTrue("\(error)".contains("unexpected keys: 1.weight, 1.bias"), "\(error)")
        }
    }

    /// Data: a NaN pixel in float IDX images, and a gzip stream cut in half.
    func testDataFiles() {
        XCTAssertThrowsError(try IDX.images(Fixtures.path("bad/nan_pixels-images.idx"), labels: Fixtures.path("bad/nan_pixels-labels.idx"))) { error in
            XCTAssertTrue("\(error)".contains("nan_pixels-images.idx': pixel 4 of image 1 is nan, not a finite number"), "\(error)")
        }
        // Found by the fuzzer: a zero dim with huge others overflowed the strides (a trap).
        XCTAssertThrowsError(try IDX.read(Fixtures.path("bad/fuzz_zero_dim_huge_shape.idx"))) { error in
            XCTAssertTrue("\(error)".contains("fuzz_zero_dim_huge_shape.idx': the shape (0, 0, 0, 0, 16777215, 4278190080"), "\(error)")
            XCTAssertTrue("\(error)".contains("is too large to index"), "\(error)")
        }
        XCTAssertThrowsError(try IDX.read(Fixtures.path("bad/ends_early-labels.idx.gz"))) { error in
            XCTAssertTrue("\(error)".contains("ends_early-labels.idx.gz': the gzip data ends early"), "\(error)")
        }
    }
}
