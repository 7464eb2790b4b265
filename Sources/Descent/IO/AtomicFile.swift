import Foundation

/// Writes files so that a crash or a kill at any moment leaves either the previous file or the
/// new one under the path, never a part: the bytes go to a temporary file beside it, which is
/// flushed to disk (fsync) and then renamed over the path; the folder is flushed too. Temporary
/// files that a killed process left beside the path are removed at the next write.
///
/// For crash tests, `DESCENT_FAULT_SAVE_PAUSE_MS=n` in the environment pauses each write for
/// n milliseconds half-way through its bytes, so that a kill can land in the middle of a write.
enum AtomicFile {
    /// The pause of the crash tests' hook (nil when unset).
    private static let pause: UInt32? = ProcessInfo.processInfo.environment["DESCENT_FAULT_SAVE_PAUSE_MS"].flatMap { UInt32($0) }

    /// Writes `data` to `path` atomically; throws a plain message on failure.
    static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        removeAbandoned(besides: url)
        let temporary = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw AtomicFileError(String(cString: strerror(errno))) }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        let written = data.withUnsafeBytes { raw -> Bool in
            var offset = 0, paused = pause == nil
            while offset < raw.count {
                let end = paused ? raw.count : raw.count / 2
                if offset >= end { usleep(pause! * 1000); paused = true; continue }
                let n = Foundation.write(fd, raw.baseAddress! + offset, end - offset)
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

extension AtomicFile {
    /// Removes the temporary files of writes to `url` whose process no longer runs (killed
    /// mid-write): `.NAME.tmp-PID-…` beside it.
    static func removeAbandoned(besides url: URL) {
        let folder = url.deletingLastPathComponent().path, prefix = "." + url.lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH { unlink(folder + "/" + name) }
        }
    }
}

/// Why an atomic write failed.
struct AtomicFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A whole file's bytes (`Data(contentsOf:)`, except that an empty file is read without it:
/// Foundation's reader leaks its 4 KB buffer on an empty file, which AddressSanitizer reports).
func readWholeFile(_ path: String) throws -> Data {
    let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber
    if size?.intValue == 0, FileManager.default.isReadableFile(atPath: path) { return Data() }
    return try Data(contentsOf: URL(fileURLWithPath: path))
}
