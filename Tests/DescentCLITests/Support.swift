import Foundation
import XCTest

/// What a run of `descent` gave: its exit status, standard output and standard error.
struct CommandRun {
    let status: Int32, stdout: String, stderr: String
}

/// Runs the `descent` executable that `swift build` put beside the test bundle (or `binary`).
/// With `launcher` (mpirun and its flags), runs `launcher + [descent] + arguments`; with
/// `environment`, adds those variables to the child's.
func runDescent(_ arguments: [String], binary: URL = Bundle.main.bundleURL.appendingPathComponent("descent"),
                launcher: [String] = [], environment: [String: String] = [:],
                file: StaticString = #filePath, line: UInt = #line) throws -> CommandRun {
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        XCTFail("no descent executable at \(binary.path): build the package (swift build) first", file: file, line: line)
        throw CocoaError(.fileNoSuchFile)
    }
    let process = Process(), out = Pipe(), err = Pipe()
    if let program = launcher.first {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(launcher.dropFirst()) + [binary.path] + arguments
    } else {
        process.executableURL = binary
        process.arguments = arguments
    }
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes to the end before waiting, so that a full pipe cannot block the child.
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
}

/// Numbers that follow `label` in `text` (e.g. "loss 0.7049" → 0.7049; a trailing % is dropped).
func numbersAfter(_ label: String, in text: String) -> [Double] {
    text.components(separatedBy: label).dropFirst().compactMap { part in
        Double(part.prefix { $0.isNumber || $0 == "." || $0 == "-" })
    }
}

/// The float32 and int64 tensors of a safetensors file, as Doubles by name (the tests of the
/// command line do not link the library).
func readSafeTensors(_ path: String) throws -> [String: [Double]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
    var out: [String: [Double]] = [:]
    for (name, value) in header where name != "__metadata__" {
        let entry = value as! [String: Any], offsets = entry["data_offsets"] as! [Int]
        let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
        switch entry["dtype"] as! String {
        case "F32": out[name] = stride(from: 0, to: bytes.count, by: 4).map { i in
            Double(Float(bitPattern: bytes[i..<(i + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }))
        }
        case "I64": out[name] = stride(from: 0, to: bytes.count, by: 8).map { i in
            Double(Int64(bitPattern: bytes[i..<(i + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }))
        }
        default: continue
        }
    }
    return out
}
