import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX write(2); the method of the same name on the writer would shadow it.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, bytes, count)
    #else
    Darwin.write(descriptor, bytes, count)
    #endif
}

/// Writes a file so that readers see either the old file or the complete new one, never a partial write:
/// the bytes go to a temporary file in the same folder (same file system, so the rename is atomic), which
/// is renamed over the destination only after every write succeeded. Streams its input, so writing a
/// multi-gigabyte checkpoint needs no second copy in memory.
final class AtomicFileWriter {
    let destination: URL
    private let temporaryPath: String
    private var descriptor: Int32
    private var committed = false

    init(_ destination: URL) throws {
        self.destination = destination
        let folder = destination.deletingLastPathComponent().path
        temporaryPath = folder + "/." + destination.lastPathComponent + ".tmp-" + UUID().uuidString
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ModelError.io(file: destination.path, reason: MappedFile.errnoText("cannot create a temporary file"))
        }
    }

    /// Appends `bytes`; on failure the temporary file is removed and the destination left untouched.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let written = systemWrite(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let reason = MappedFile.errnoText("cannot write")
                abandon()
                throw ModelError.io(file: destination.path, reason: reason)
            }
            offset += written
        }
    }

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    func write(_ values: [Float]) throws {
        #if _endian(little)
        try values.withUnsafeBytes { try write($0) }
        #else
        try write(values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) })
        #endif
    }

    func write(_ values: [Double]) throws {
        #if _endian(little)
        try values.withUnsafeBytes { try write($0) }
        #else
        try write(values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) })
        #endif
    }

    /// A writer dropped without ``commit()`` (an error thrown between writes) leaves no file behind.
    deinit { abandon() }

    /// Closes the temporary file and renames it over the destination; with `sync`, first flushes it to the
    /// disk (fsync), so that after a crash the destination holds the whole file or the old one.
    func commit(sync: Bool = false) throws {
        if sync && fsync(descriptor) != 0 {
            let reason = MappedFile.errnoText("cannot sync to disk")
            abandon()
            throw ModelError.io(file: destination.path, reason: reason)
        }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else {
            let reason = MappedFile.errnoText("cannot close")
            unlink(temporaryPath)
            throw ModelError.io(file: destination.path, reason: reason)
        }
        guard rename(temporaryPath, destination.path) == 0 else {
            let reason = MappedFile.errnoText("cannot rename the temporary file into place")
            unlink(temporaryPath)
            throw ModelError.io(file: destination.path, reason: reason)
        }
        committed = true
    }

    /// Closes and removes the temporary file (after a failure of the caller's own).
    func abandon() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        if !committed { unlink(temporaryPath) }
    }
}

/// Whole-file writes that readers see complete or not at all (see ``AtomicFileWriter``): for reports
/// and other small outputs of the tools.
public enum AtomicFile {
    /// Writes `data` to `url` through a temporary file in the same folder and a rename; with `sync` the
    /// file is on the disk (fsync) before the rename (a checkpoint that must survive a power cut).
    /// - Throws: ``ModelError/io(file:reason:)`` naming the file.
    public static func write(_ data: Data, to url: URL, sync: Bool = false) throws {
        let writer = try AtomicFileWriter(url)
        do {
            try writer.write(data)
            try writer.commit(sync: sync)
        } catch {
            writer.abandon()
            throw error
        }
    }
}
