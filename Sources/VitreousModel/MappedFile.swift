import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory, unmapped when the last reference goes; or bytes already in
/// memory, copied once, so that the same parsing code serves files and buffers.
///
/// `@unchecked Sendable`: the mapping (or copy) is created in `init`, never written (PROT_READ) and
/// released only in `deinit`, so every thread sees the same immutable bytes for the object's whole life.
final class MappedFile: @unchecked Sendable {  // immutable bytes; see above
    let path: String
    /// Size of the file in bytes.
    let count: Int
    /// Start of the mapping; nil for an empty file (mmap refuses length 0).
    private let base: UnsafeRawPointer?
    /// True when `base` is a heap copy (freed) rather than a mapping (unmapped).
    private let isCopy: Bool

    /// A private copy of `bytes`; `path` names them in error messages.
    init(bytes: Data, path: String) {
        self.path = path
        count = bytes.count
        isCopy = true
        guard count > 0 else {
            base = nil
            return
        }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
        bytes.copyBytes(to: copy.bindMemory(to: UInt8.self, capacity: bytes.count), count: bytes.count)
        base = UnsafeRawPointer(copy)
    }

    init(path: String) throws {
        self.path = path
        isCopy = false
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ModelError.io(file: path, reason: MappedFile.errnoText("cannot open")) }
        // The mapping keeps the file alive; the descriptor is not needed past mmap.
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ModelError.io(file: path, reason: MappedFile.errnoText("cannot stat"))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw ModelError.io(file: path, reason: "not a regular file")
        }
        count = Int(status.st_size)
        if count == 0 {
            base = nil
            return
        }
        let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw ModelError.io(file: path, reason: MappedFile.errnoText("cannot memory-map"))
        }
        base = UnsafeRawPointer(address)
    }

    deinit {
        guard let base else { return }
        if isCopy {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
    }

    /// Calls `body` with the bytes `range` of the file. The caller has checked the range against ``count``.
    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range checked by the caller")
        guard let base else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// Gives the whole pages inside `range` back to the system (`MADV_DONTNEED`) once their bytes have been copied
    /// out: a read-only private mapping reads them from the file again if they are touched later, so nothing changes
    /// but the resident memory, which then holds a model's weights once instead of twice while it loads.
    func releasePages(_ range: Range<Int>) {
        guard let base, !isCopy else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let first = (range.lowerBound + page - 1) / page * page, last = range.upperBound / page * page
        guard last > first else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + first), last - first, Int32(MADV_DONTNEED))
    }

    static func errnoText(_ what: String) -> String {
        "\(what): \(String(cString: strerror(errno)))"
    }
}
