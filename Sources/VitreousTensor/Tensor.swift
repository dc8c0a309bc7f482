import Foundation

/// Memory that holds a tensor's elements on one device. Each backend has its own kind.
///
/// Storage is written only by the operation that creates it, before that operation returns the tensor;
/// afterwards it is read-only. That is what makes sharing it between threads safe.
protocol TensorStorage: AnyObject, Sendable {
    var device: Device { get }
    /// Number of float32 elements.
    var count: Int { get }
}

/// A dense, row-major float32 array on one ``Device``.
///
/// Tensors have value semantics: no operation changes an existing tensor, each returns a new one. Copying
/// a `Tensor` copies a reference to immutable storage. Device memory is released (or returned to the
/// backend's buffer pool) when the last copy goes away.
public struct Tensor: Sendable, CustomStringConvertible {
    /// Extent of each axis, outermost first. A scalar has shape `[]` and one element.
    public let shape: [Int]
    let storage: any TensorStorage

    init(shape: [Int], storage: any TensorStorage) {
        self.shape = shape
        self.storage = storage
    }

    /// The device that holds the elements and runs operations on them.
    public var device: Device { storage.device }
    /// Number of elements: the product of ``shape``.
    public var count: Int { shape.reduce(1, *) }
    /// Number of axes.
    public var rank: Int { shape.count }

    public var description: String { "Tensor(\(shape.map(String.init).joined(separator: "×")) on \(device))" }

    /// Copies `values` to a new tensor of the given shape on `device`.
    /// - Throws: ``VitreousError/shapeMismatch(_:)`` when the element count does not match the shape.
    public init(_ values: [Float], shape: [Int], on device: Device = .default) throws {
        try Tensor.validate(shape: shape)
        guard values.count == shape.reduce(1, *) else {
            throw VitreousError.shapeMismatch("\(values.count) values cannot fill shape \(shape)")
        }
        let backend = try VitreousTensor.backend(for: device)
        self = try values.withUnsafeBufferPointer { try backend.tensor($0, shape: shape) }
    }

    /// A tensor of the given shape filled with `value`.
    public static func filled(_ value: Float, shape: [Int], on device: Device = .default) throws -> Tensor {
        try validate(shape: shape)
        return try Tensor([Float](repeating: value, count: shape.reduce(1, *)), shape: shape, on: device)
    }

    /// A tensor of zeros.
    public static func zeros(shape: [Int], on device: Device = .default) throws -> Tensor {
        try filled(0, shape: shape, on: device)
    }

    /// The elements in row-major order, copied to the host. Waits for pending work on the device.
    public func toArray() throws -> [Float] {
        let backend = try self.backend()
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { try backend.read(self, into: $0) }
        return values
    }

    /// The same values on another device (the tensor itself when it is already there).
    public func to(_ target: Device) throws -> Tensor {
        if target == device { return self }
        return try Tensor(try toArray(), shape: shape, on: target)
    }

    /// An independent copy on the same device, made on the device (a buffer copy, no host round trip).
    public func copy() throws -> Tensor {
        let backend = try self.backend()
        let out = try backend.empty(shape: shape)
        try backend.copy(self, into: out)
        return out
    }

    /// The same elements under another shape with the same element count (no copy).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor.validate(shape: newShape)
        guard newShape.reduce(1, *) == count else {
            throw VitreousError.shapeMismatch("cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        return Tensor(shape: newShape, storage: storage)
    }

    /// The backend that runs operations on this tensor.
    package func backend() throws -> any Backend { try VitreousTensor.backend(for: device) }

    static func validate(shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw VitreousError.invalidArgument("shape \(shape) has a negative extent")
        }
        var total = 1
        for extent in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= Int(Int32.max) else {
                throw VitreousError.invalidArgument("shape \(shape) has more than 2³¹−1 elements, the most one tensor can hold")
            }
            total = product
        }
    }
}
