import Foundation

/// Writes files so that a crash or a kill at any moment leaves either the previous file or the
/// new one under the path, never a part: the bytes go to a temporary file beside it, which is
/// flushed to disk (fsync) and then renamed over the path; the folder is flushed too.
enum AtomicFile {
    /// Writes `data` to `path` atomically; throws a plain message on failure.
    static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw AtomicFileError(String(cString: strerror(errno))) }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        let written = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        let error = written ? nil : String(cString: strerror(errno))
        let synced = written && fsync(fd) == 0
        close(fd)
        guard written else { throw AtomicFileError(error ?? "write failed") }
        guard synced else { throw AtomicFileError("cannot flush to disk: \(String(cString: strerror(errno)))") }
        guard rename(temporary, path) == 0 else { throw AtomicFileError(String(cString: strerror(errno))) }
        ok = true
        let dir = open(folder, O_RDONLY)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }
}

/// Why an atomic write failed.
struct AtomicFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
