import Foundation
import XCTest

/// What a run of `descent` gave: its exit status, standard output and standard error.
struct CommandRun {
    let status: Int32, stdout: String, stderr: String
}

/// Runs the `descent` executable that `swift build` put beside the test bundle (or `binary`).
func runDescent(_ arguments: [String], binary: URL = Bundle.main.bundleURL.appendingPathComponent("descent"),
                file: StaticString = #filePath, line: UInt = #line) throws -> CommandRun {
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        XCTFail("no descent executable at \(binary.path): build the package (swift build) first", file: file, line: line)
        throw CocoaError(.fileNoSuchFile)
    }
    let process = Process(), out = Pipe(), err = Pipe()
    process.executableURL = binary
    process.arguments = arguments
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
