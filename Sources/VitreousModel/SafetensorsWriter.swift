import Foundation
import VitreousTensor

/// Collects float32 tensors and writes them as one safetensors file, atomically (a temporary file in the
/// destination's folder, renamed into place once complete).
///
/// Tensors are stored in the order they were added. The header is padded with spaces to a multiple of 8
/// bytes, as the reference implementation does, so that every F32 tensor starts 4-byte aligned in a
/// memory map.
public struct SafetensorsWriter: Sendable {
    private struct Entry: Sendable {
        let name: String
        let shape: [Int]
        let values: [Float]
    }

    /// Written as the header's `__metadata__` object (omitted when empty).
    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var names: Set<String> = []

    /// An empty writer; `metadata` goes into the header as `__metadata__`.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds tensor `name` with the row-major `values` of `shape`.
    /// - Throws: ``ModelError/invalidArgument(_:)`` for a repeated or reserved name, a negative extent, or a
    ///   value count that does not fill the shape.
    public mutating func add(_ name: String, _ values: [Float], shape: [Int]) throws {
        guard !name.isEmpty, name != "__metadata__" else {
            throw ModelError.invalidArgument("'\(name)' cannot name a safetensors tensor")
        }
        guard !names.contains(name) else {
            throw ModelError.invalidArgument("tensor '\(name)' was already added")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ModelError.invalidArgument("tensor '\(name)': shape \(shape) has a negative extent")
        }
        guard values.count == shape.reduce(1, *) else {
            throw ModelError.invalidArgument("tensor '\(name)': \(values.count) values cannot fill shape \(shape)")
        }
        names.insert(name)
        entries.append(Entry(name: name, shape: shape, values: values))
    }

    /// Adds `tensor` under `name`, copying its elements to the host.
    public mutating func add(_ name: String, _ tensor: Tensor) throws {
        try add(name, try tensor.toArray(), shape: tensor.shape)
    }

    /// Writes every tensor added so far to `url`, replacing any file there; with `sync` the file is on the
    /// disk (fsync) before it is renamed into place.
    /// - Throws: ``ModelError/io(file:reason:)`` when the folder is not writable or the disk is full; the
    ///   destination is then left as it was.
    public func write(to url: URL, sync: Bool = false) throws {
        var header = "{"
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            header += "\"__metadata__\":{" + pairs.joined(separator: ",") + "}"
        }
        var offset = 0
        for entry in entries {
            let end = offset + entry.values.count * 4
            if header.count > 1 { header += "," }
            header += "\(jsonString(entry.name)):{\"dtype\":\"F32\",\"shape\":["
                + entry.shape.map(String.init).joined(separator: ",")
                + "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        header += "}"
        var headerBytes = Data(header.utf8)
        headerBytes.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - headerBytes.count % 8) % 8))

        let output = try AtomicFileWriter(url)
        var length = UInt64(headerBytes.count).littleEndian
        try withUnsafeBytes(of: &length) { try output.write($0) }
        try output.write(headerBytes)
        for entry in entries { try output.write(entry.values) }
        try output.commit(sync: sync)
    }
}

/// `text` as a JSON string literal, quotes included.
func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                + String(scalar.value, radix: 16)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
