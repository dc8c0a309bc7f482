import Foundation

/// A NumPy `.npy` array of float32 or float64, little-endian: the format of the reference fixtures and of
/// arrays the command-line tool exchanges with Python. Held in C (row-major) order; Fortran-ordered files
/// (what `np.save` writes for a transposed array) are reordered on load, and the writer always writes C order.
///
/// Format: the magic `\x93NUMPY`, a version (1.0 with a 2-byte header length, 2.0/3.0 with 4 bytes), a Python
/// dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces to a
/// 64-byte boundary and ending in a newline, then the raw elements.
public struct NPYArray: Sendable, Equatable {
    /// The element types this reader and writer handle, by their NumPy `descr`.
    public enum DType: String, Sendable, Equatable {
        /// Little-endian float32.
        case float32 = "<f4"
        /// Little-endian float64.
        case float64 = "<f8"

        var size: Int { self == .float32 ? 4 : 8 }
    }

    private enum Storage: Sendable, Equatable {
        case float32([Float])
        case float64([Double])
    }

    /// Extent of each axis, outermost first; `[]` for a scalar.
    public let shape: [Int]
    private let storage: Storage

    /// The element type as stored.
    public var dtype: DType {
        if case .float32 = storage { return .float32 }
        return .float64
    }

    /// The elements in row-major order as Float (rounded when stored as float64).
    public var floats: [Float] {
        switch storage {
        case .float32(let values): return values
        case .float64(let values): return values.map(Float.init)
        }
    }

    /// The elements in row-major order as Double (exact for both types).
    public var doubles: [Double] {
        switch storage {
        case .float32(let values): return values.map(Double.init)
        case .float64(let values): return values
        }
    }

    /// A float32 array of `shape`.
    /// - Throws: ``ModelError/invalidArgument(_:)`` when the count does not fill the shape.
    public init(_ values: [Float], shape: [Int]) throws {
        try NPYArray.check(count: values.count, shape: shape)
        self.shape = shape
        storage = .float32(values)
    }

    /// A float64 array of `shape`.
    public init(_ values: [Double], shape: [Int]) throws {
        try NPYArray.check(count: values.count, shape: shape)
        self.shape = shape
        storage = .float64(values)
    }

    /// Reads the `.npy` file at `url`.
    /// - Throws: ``ModelError/io(file:reason:)`` when it cannot be read, ``ModelError/npy(file:problem:)``
    ///   when it is malformed or of another dtype. A Fortran-ordered file is read into row-major order.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelError.io(file: url.path, reason: error.localizedDescription)
        }
        func fail(_ problem: String) -> ModelError { .npy(file: url.path, problem: problem) }

        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw fail("no \\x93NUMPY magic at the start")
        }
        let major = bytes[6]
        let lengthSize: Int
        switch major {
        case 1: lengthSize = 2
        case 2, 3: lengthSize = 4
        default: throw fail("format version \(major).\(bytes[7]) is not 1, 2 or 3")
        }
        guard bytes.count >= 8 + lengthSize else { throw fail("the file ends inside its header length") }
        var headerLength = 0
        for i in 0..<lengthSize { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        let headerStart = 8 + lengthSize
        guard headerStart + headerLength <= bytes.count else {
            throw fail("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8) else {
            throw fail("the header is not text")
        }
        let fields = try NPYHeader(header, fail: fail)
        guard let dtype = DType(rawValue: fields.descr) else {
            throw fail("dtype '\(fields.descr)' is not supported; only little-endian float32 ('<f4') and "
                + "float64 ('<f8')")
        }
        var count = 1
        for extent in fields.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow, extent >= 0 else { throw fail("shape \(fields.shape) is not addressable") }
            count = product
        }
        let dataStart = headerStart + headerLength
        let expected = count.multipliedReportingOverflow(by: dtype.size)
        guard !expected.overflow else { throw fail("shape \(fields.shape) is not addressable") }
        guard bytes.count - dataStart == expected.partialValue else {
            throw fail("shape \(fields.shape) of \(dtype.rawValue) needs \(expected.partialValue) data bytes, "
                + "the file holds \(bytes.count - dataStart)")
        }
        shape = fields.shape
        let stored: Storage = bytes.withUnsafeBytes { raw in
            let body = UnsafeRawBufferPointer(rebasing: raw[dataStart...])
            switch dtype {
            case .float32:
                return .float32((0..<count).map {
                    let bits = body.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)
                    return Float(bitPattern: UInt32(littleEndian: bits))
                })
            case .float64:
                return .float64((0..<count).map {
                    let bits = body.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)
                    return Double(bitPattern: UInt64(littleEndian: bits))
                })
            }
        }
        guard fields.fortranOrder, shape.count > 1 else {
            storage = stored
            return
        }
        switch stored {
        case .float32(let values): storage = .float32(NPYArray.rowMajor(values, fortranShape: shape))
        case .float64(let values): storage = .float64(NPYArray.rowMajor(values, fortranShape: shape))
        }
    }

    /// The elements of a Fortran-ordered (first axis fastest) array of `shape` in row-major order.
    private static func rowMajor<T>(_ values: [T], fortranShape shape: [Int]) -> [T] {
        guard let first = values.first else { return values }
        // Stride of each axis in the Fortran layout: axis 0 is contiguous.
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        var result = [T](repeating: first, count: values.count)
        var index = [Int](repeating: 0, count: shape.count)
        var source = 0
        for target in 0..<values.count {
            result[target] = values[source]
            // Step the row-major multi-index (last axis fastest), keeping the Fortran offset in step.
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                source += strides[axis]
                if index[axis] < shape[axis] { break }
                source -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// Writes the array as a version 1.0 `.npy` file, atomically.
    public func write(to url: URL) throws {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        // NumPy pads so that the data starts on a 64-byte boundary, then ends the header with a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var prefix = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        prefix.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        prefix.append(contentsOf: Array(header.utf8))

        let output = try AtomicFileWriter(url)
        try output.write(prefix)
        switch storage {
        case .float32(let values): try output.write(values)
        case .float64(let values): try output.write(values)
        }
        try output.commit()
    }

    private static func check(count: Int, shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), count == shape.reduce(1, *) else {
            throw ModelError.invalidArgument("\(count) values cannot fill shape \(shape)")
        }
    }
}

/// The three fields of a `.npy` header dict, parsed without a Python-literal parser: NumPy writes them in a
/// fixed, simple form.
private struct NPYHeader {
    let descr: String
    let fortranOrder: Bool
    let shape: [Int]

    init(_ text: String, fail: (String) -> ModelError) throws {
        func value(of key: String) throws -> Substring {
            guard let keyRange = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else {
                throw fail("the header has no '\(key)': \(text)")
            }
            let rest = text[keyRange.upperBound...].drop { $0 == " " || $0 == ":" }
            return rest
        }
        let descrText = try value(of: "descr")
        guard let quote = descrText.first, quote == "'" || quote == "\"",
              let close = descrText.dropFirst().firstIndex(of: quote) else {
            throw fail("cannot read 'descr' in the header: \(text)")
        }
        descr = String(descrText[descrText.index(after: descrText.startIndex)..<close])

        let orderText = try value(of: "fortran_order")
        if orderText.hasPrefix("False") {
            fortranOrder = false
        } else if orderText.hasPrefix("True") {
            fortranOrder = true
        } else {
            throw fail("cannot read 'fortran_order' in the header: \(text)")
        }

        let shapeText = try value(of: "shape")
        guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw fail("cannot read 'shape' in the header: \(text)")
        }
        var extents: [Int] = []
        for part in shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "")
            if trimmed.isEmpty { continue }
            guard let extent = Int(trimmed), extent >= 0 else {
                throw fail("cannot read 'shape' in the header: \(text)")
            }
            extents.append(extent)
        }
        shape = extents
    }
}
