import Foundation

/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// The tensor's key in the file.
    public let name: String
    /// The element type as stored.
    public let dtype: SafetensorsDType
    /// Extent of each axis, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// Byte range relative to the start of the data section (just past the header).
    public let dataOffsets: Range<Int>
    /// Number of elements: the product of ``shape``.
    public var count: Int { shape.reduce(1, *) }
}

/// Parses and checks a safetensors header against the size of the file it came from.
enum SafetensorsHeader {
    /// Largest header accepted, as in the reference implementation: a larger one is a corrupt length field,
    /// and parsing it would only waste memory.
    static let maximumLength = 100_000_000

    struct Parsed {
        let entries: [String: SafetensorsTensorInfo]
        let metadata: [String: String]
        /// File offset of the data section.
        let dataStart: Int
    }

    /// Reads the length field and the JSON header of `file` and checks every entry against the file size.
    static func parse(_ file: MappedFile) throws -> Parsed {
        func fail(_ problem: String) -> ModelError { .safetensors(file: file.path, problem: problem) }

        guard file.count >= 8 else {
            throw fail("the file is \(file.count) bytes long, shorter than the 8-byte header length field")
        }
        let length = file.withBytes(0..<8) { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length <= UInt64(maximumLength) else {
            throw fail("header length \(length) exceeds the limit of \(maximumLength) bytes (corrupt length field?)")
        }
        let headerLength = Int(length)
        guard 8 + headerLength <= file.count else {
            throw fail("header length \(headerLength) runs past the end of the file (\(file.count) bytes)")
        }
        let json = file.withBytes(8..<(8 + headerLength)) { Data($0) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw fail("the header is not valid JSON (\(error.localizedDescription))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }

        let dataStart = 8 + headerLength
        let dataSize = file.count - dataStart
        var entries: [String: SafetensorsTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in dictionary {
            if name == "__metadata__" {
                guard let pairs = value as? [String: Any] else { throw fail("__metadata__ is not a JSON object") }
                for (key, item) in pairs {
                    guard let text = item as? String else {
                        throw fail("__metadata__ value for '\(key)' is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries[name] = try entry(name, value, dataSize: dataSize, fail: fail)
        }
        try checkOverlaps(entries.values, fail: fail)
        // Bytes past the last tensor mean a file glued to another or overwritten in place by a shorter one;
        // the reference implementation refuses them as an incomplete metadata buffer.
        let end = entries.values.map(\.dataOffsets.upperBound).max() ?? 0
        guard end == dataSize else {
            throw fail("\(dataSize - end) bytes follow the last tensor (the data section is \(dataSize) bytes, "
                       + "the tensors end at \(end)): a corrupt or concatenated file")
        }
        return Parsed(entries: entries, metadata: metadata, dataStart: dataStart)
    }

    private static func entry(_ name: String, _ value: Any, dataSize: Int,
                              fail: (String) -> ModelError) throws -> SafetensorsTensorInfo {
        guard let fields = value as? [String: Any] else { throw fail("entry '\(name)' is not a JSON object") }
        guard let dtypeValue = fields["dtype"] else { throw fail("entry '\(name)' has no dtype") }
        guard let dtypeName = dtypeValue as? String else {
            throw fail("entry '\(name)' has a dtype that is not a string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw fail("entry '\(name)' has unknown dtype '\(dtypeName)'")
        }
        guard let shapeValue = fields["shape"] else { throw fail("entry '\(name)' has no shape") }
        guard let shape = integers(shapeValue) else {
            throw fail("entry '\(name)' has a shape that is not a list of integers: \(shapeValue)")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw fail("entry '\(name)' has a negative extent in shape \(shape)")
        }
        guard let offsetsValue = fields["data_offsets"] else { throw fail("entry '\(name)' has no data_offsets") }
        guard let offsets = integers(offsetsValue), offsets.count == 2 else {
            throw fail("entry '\(name)' has data_offsets that are not two integers: \(offsetsValue)")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, end >= 0 else { throw fail("entry '\(name)' has negative data_offsets [\(begin), \(end)]") }
        guard end >= begin else {
            throw fail("entry '\(name)' has data_offsets [\(begin), \(end)] whose end is before its begin")
        }
        guard end <= dataSize else {
            throw fail("entry '\(name)' has data_offsets [\(begin), \(end)] past the end of the data section "
                + "(\(dataSize) bytes)")
        }
        var bytes = dtype.size
        for extent in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw fail("entry '\(name)' has shape \(shape), too large to address") }
            bytes = product
        }
        guard bytes == end - begin else {
            throw fail("entry '\(name)' has shape \(shape) of \(dtype.rawValue), which needs \(bytes) bytes, "
                + "but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// Two tensors sharing bytes would alias each other: the reference implementation refuses that too.
    private static func checkOverlaps(_ entries: some Collection<SafetensorsTensorInfo>,
                                      fail: (String) -> ModelError) throws {
        let ordered = entries.filter { !$0.dataOffsets.isEmpty }
            .sorted { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        func bytes(_ entry: SafetensorsTensorInfo) -> String {
            "'\(entry.name)' (bytes \(entry.dataOffsets.lowerBound)..<\(entry.dataOffsets.upperBound))"
        }
        for (first, second) in zip(ordered, ordered.dropFirst())
        where second.dataOffsets.lowerBound < first.dataOffsets.upperBound {
            throw fail("tensors \(bytes(first)) and \(bytes(second)) overlap")
        }
    }

    /// A JSON array of integers, or nil (a fraction, a string, a number beyond Int).
    private static func integers(_ value: Any) -> [Int]? {
        guard let items = value as? [Any] else { return nil }
        var result: [Int] = []
        for item in items {
            guard let number = item as? NSNumber else { return nil }
            // NSNumber bridging to Int is exact: it fails for 1.5 and for values beyond Int.
            guard let integer = number as? Int else { return nil }
            result.append(integer)
        }
        return result
    }
}
