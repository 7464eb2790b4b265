import Descent
import Foundation

// One fuzzing executable for every reader; DESCENT_FUZZ_TARGET chooses which one gets the
// inputs. libFuzzer's driver (linked by Scripts/fuzz.sh) calls `fuzzOne` with each input. A
// thrown error is the expected answer to a bad file; a crash, a hang or an allocation far beyond
// the input's size (libFuzzer's -malloc_limit_mb) is a bug.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

enum Target: String, CaseIterable { case safetensors, checkpoint, idx, gzip, csv }

nonisolated(unsafe) var target = Target.safetensors
/// A file for the readers that take a path (gzip, CSV), one per process.
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("descent-fuzz-\(getpid())").path

func fuzzOne(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = count > 0 ? Data(bytes: bytes!, count: count) : Data()
    switch target {
    case .safetensors:
        _ = try? SafeTensors.parse(data, path: "fuzz")
    case .checkpoint:
        if let file = try? SafeTensors.parse(data, path: "fuzz") { _ = try? Checkpoint(file, path: "fuzz") }
    case .idx:
        _ = try? IDX.parse(data, path: "fuzz")
    case .gzip:
        FileManager.default.createFile(atPath: scratch + ".idx.gz", contents: data)
        _ = try? IDX.read(scratch + ".idx.gz")
    case .csv:
        FileManager.default.createFile(atPath: scratch + ".csv", contents: data)
        _ = try? CSVImages.read(scratch + ".csv")
    }
    return 0
}

guard let name = ProcessInfo.processInfo.environment["DESCENT_FUZZ_TARGET"], let chosen = Target(rawValue: name) else {
    FileHandle.standardError.write(Data("set DESCENT_FUZZ_TARGET to one of \(Target.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
    exit(2)
}
target = chosen
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzOne($0, $1) })
