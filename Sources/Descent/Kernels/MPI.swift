import CDescentKernels
import Foundation

// MPI, loaded at run time (mpi.c). The process group (Distributed/) is its only user.
extension Kernels {
    enum MPI {
        /// A collective in flight.
        struct Request {
            var handle: Int = 0
            /// What it is, for a timeout's message ("all-reduce of 1,234 floats").
            var what: String
        }

        /// How a wait ended.
        enum Outcome: Equatable {
            case done
            case timedOut
            case failed(Int32)
        }

        /// Loads the library (`path`, or the usual names); nil on success, else why not.
        static func load(path: String?) -> String? {
            let loaded = path.map { dk_mpi_load($0) } ?? dk_mpi_load(nil)
            return loaded == 1 ? nil : String(cString: dk_mpi_error())
        }

        static var library: String { String(cString: dk_mpi_library()) }

        /// The library's own version line (MPI_Get_library_version), first line only.
        static var version: String {
            var buffer = [CChar](repeating: 0, count: 8192)
            let n = dk_mpi_version(&buffer, Int32(buffer.count))
            guard n > 0 else { return "" }
            let text = String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return text.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        }

        /// MPI_Init_thread and the world's rank and size; nil when initialization failed.
        static func initialize() -> (rank: Int, size: Int)? {
            var rank: Int32 = 0, size: Int32 = 0
            return dk_mpi_init(&rank, &size) == 0 ? (Int(rank), Int(size)) : nil
        }

        static func finalize() { dk_mpi_finalize() }

        /// Stops every rank of the job.
        static func abort(code: Int32) -> Never {
            dk_mpi_abort(code)
            exit(code)
        }

        private static func dtypeCode(_ dtype: DType) -> Int32 {
            switch dtype {
            case .float32: return 0
            case .float64: return 1
            case .bfloat16: bfloat16Unsupported("distributed")
            case .int64: checkFailure("[distributed] collectives take float32 or float64 tensors, got int64")
            }
        }

        /// Starts an in-place all-reduce (sum, or max) of a contiguous tensor.
        static func startAllReduce(_ t: Tensor, max: Bool = false) -> (Request, Int32) {
            var request = Request(what: "all-reduce of \(t.count) \(t.dtype) values")
            let p = UnsafeMutableRawPointer(t.storage.typed(UInt8.self) + t.offset * t.dtype.byteSize)
            let rc = dk_mpi_iallreduce(p, Int32(t.count), dtypeCode(t.dtype), max ? 1 : 0, &request.handle)
            return (request, rc)
        }

        /// Starts a broadcast of `bytes` bytes at `pointer` from `root`.
        static func startBroadcast(_ pointer: UnsafeMutableRawPointer, bytes: Int, root: Int) -> (Request, Int32) {
            var request = Request(what: "broadcast of \(bytes) bytes from rank \(root)")
            let rc = dk_mpi_ibcast(pointer, Int32(bytes), Int32(root), &request.handle)
            return (request, rc)
        }

        /// Starts an all-gather of `bytes` bytes from every rank into `receive` (ranks in order).
        static func startAllGather(_ send: UnsafeRawPointer, _ receive: UnsafeMutableRawPointer, bytes: Int) -> (Request, Int32) {
            var request = Request(what: "all-gather of \(bytes) bytes per rank")
            let rc = dk_mpi_iallgather(send, receive, Int32(bytes), &request.handle)
            return (request, rc)
        }

        static func startBarrier() -> (Request, Int32) {
            var request = Request(what: "barrier")
            let rc = dk_mpi_ibarrier(&request.handle)
            return (request, rc)
        }

        /// Lets MPI progress a request; true when it completed.
        static func test(_ request: inout Request) -> Bool {
            var done: Int32 = 0
            return dk_mpi_test(&request.handle, &done) == 0 && done != 0
        }

        /// Waits for a request, at most `timeout` seconds (no limit when ≤ 0).
        static func wait(_ request: inout Request, timeout: Double) -> Outcome {
            switch dk_mpi_wait(&request.handle, timeout) {
            case 0: return .done
            case -1: return .timedOut
            case let rc: return .failed(rc)
            }
        }
    }
}
