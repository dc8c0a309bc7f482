import Foundation
import VitreousTensor

/// A safetensors file, memory-mapped and checked on opening.
///
/// Format: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to its
/// `dtype`, `shape` and `data_offsets` (relative to the end of the header), an optional `__metadata__`
/// object of strings, then the raw little-endian data. Opening checks every entry against the file size
/// (offsets in bounds, sizes matching shape × dtype, no two tensors sharing bytes), so that a read can
/// never go past the mapping. Nothing is copied until a tensor is read.
///
/// Reading while another process truncates the file is undefined (the mapping would fault), as for any
/// memory-mapped reader.
public final class SafetensorsFile: Sendable {
    /// Where the file was read from.
    public let url: URL
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// Every tensor name in the file, sorted.
    public let names: [String]
    private let entries: [String: SafetensorsTensorInfo]
    private let file: MappedFile
    private let dataStart: Int

    /// Maps the file at `url` and validates its header.
    /// - Throws: ``ModelError/io(file:reason:)`` when it cannot be opened or mapped,
    ///   ``ModelError/safetensors(file:problem:)`` when it breaks the format.
    public convenience init(_ url: URL) throws {
        try self.init(try MappedFile(path: url.path), url: url)
    }

    /// Reads a safetensors file already in memory (a download, an archive member), checked as ``init(_:)``
    /// checks a file. The bytes are copied once.
    /// - Parameter url: where the bytes belong: it names them in error messages, and
    ///   ``ViTConfig/inferred(from:heads:)`` looks for a `config.json` beside it.
    /// - Throws: ``ModelError/safetensors(file:problem:)`` when the bytes break the format.
    public convenience init(bytes: Data, url: URL) throws {
        try self.init(MappedFile(bytes: bytes, path: url.path), url: url)
    }

    /// Validates the header of `file`, whose bytes belong to `url`.
    private init(_ file: MappedFile, url: URL) throws {
        self.url = url
        self.file = file
        let parsed = try SafetensorsHeader.parse(file)
        entries = parsed.entries
        metadata = parsed.metadata
        dataStart = parsed.dataStart
        names = parsed.entries.keys.sorted()
    }

    /// True when the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The dtype, shape and byte range of tensor `name`.
    /// - Throws: ``ModelError/invalidArgument(_:)`` when there is no such tensor.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let entry = entries[name] else {
            throw ModelError.invalidArgument("\(url.path) has no tensor named '\(name)'")
        }
        return entry
    }

    /// The elements of tensor `name` in row-major order, converted to Float (F64, F32, F16, BF16).
    /// - Throws: ``ModelError/invalidArgument(_:)`` for an unknown name,
    ///   ``ModelError/safetensors(file:problem:)`` for a dtype that is not floating point.
    public func floats(_ name: String) throws -> [Float] {
        let entry = try info(name)
        guard entry.dtype.isReadableAsFloat else {
            throw ModelError.safetensors(file: url.path, problem:
                "tensor '\(name)' has dtype \(entry.dtype.rawValue); only F64, F32, F16 and BF16 can be read as float")
        }
        let range = (dataStart + entry.dataOffsets.lowerBound)..<(dataStart + entry.dataOffsets.upperBound)
        let values = file.withBytes(range) { ElementDecoding.floats($0, dtype: entry.dtype, count: entry.count) }
        file.releasePages(range)  // copied: the mapping need not keep them resident too
        return values
    }

    /// Tensor `name` as a float32 ``Tensor`` of the same shape on `device`.
    public func tensor(_ name: String, on device: Device = .default) throws -> Tensor {
        let shape = try info(name).shape
        return try Tensor(try floats(name), shape: shape, on: device)
    }
}
