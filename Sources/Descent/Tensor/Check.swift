// The one way the library stops on a programming error (a wrong shape, dtype or argument).
// The standard `precondition` drops its message in release (-O) builds, where users run for
// speed; these keep it, so the message naming the op, the shapes and what was expected is
// printed whatever the build.

/// Stops the program with `message` when `condition` is false, in debug and release builds
/// alike. Messages start with the op in brackets: `[matmul] cannot multiply (3, 4) by (5, 6)…`.
@inline(__always)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { checkFailure(message(), file: file, line: line) }
}

/// Stops the program with `message`, in debug and release builds alike.
@inline(never)
func checkFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}

/// Stops with the message for an op given a bfloat16 tensor: bfloat16 tensors hold data
/// (casts, files); arithmetic runs in float32.
@inline(never)
func bfloat16Unsupported(_ op: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    checkFailure("[\(op)] got a bfloat16 tensor: bfloat16 tensors hold data (casts, safetensors files); compute on x.float(), or inside withAutocast(.bfloat16) { … }, whose products round their operands to bfloat16",
                 file: file, line: line)
}
