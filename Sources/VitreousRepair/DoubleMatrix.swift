import CBLAS

/// A dense row-major Float64 matrix: the defect-direction analysis works in double precision so that a
/// product of 40 nearly-identity blocks keeps its small singular gaps.
public struct DoubleMatrix: Sendable, Equatable {
    /// Row and column counts.
    public let rows: Int, columns: Int
    /// The entries, row-major: entry `(i, j)` is `values[i·columns + j]`.
    public var values: [Double]

    /// A matrix from row-major values.
    /// - Throws: ``RepairError/shapeMismatch(_:)`` unless `values.count == rows · columns`.
    public init(rows: Int, columns: Int, values: [Double]) throws {
        guard rows >= 0, columns >= 0, values.count == rows * columns else {
            throw RepairError.shapeMismatch("\(values.count) values cannot fill a \(rows)×\(columns) matrix")
        }
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A matrix of zeros (the sizes are the caller's own and cannot be inconsistent).
    init(zeros rows: Int, _ columns: Int) {
        self.rows = rows
        self.columns = columns
        values = [Double](repeating: 0, count: rows * columns)
    }

    /// The `size × size` identity.
    public static func identity(_ size: Int) -> DoubleMatrix {
        var matrix = DoubleMatrix(zeros: size, size)
        for i in 0..<size { matrix.values[i * size + i] = 1 }
        return matrix
    }

    /// Entry `(row, column)`.
    public subscript(row: Int, column: Int) -> Double {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// `self · other` by `cblas_dgemm`.
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when the inner sizes differ.
    public func multiplied(by other: DoubleMatrix) throws -> DoubleMatrix {
        try DoubleMatrix.product(self, other)
    }

    /// The transpose.
    public func transposed() -> DoubleMatrix {
        var result = DoubleMatrix(zeros: columns, rows)
        for i in 0..<rows { for j in 0..<columns { result.values[j * rows + i] = values[i * columns + j] } }
        return result
    }

    /// `op(a) · op(b)` with optional transposes, by `cblas_dgemm`.
    static func product(_ a: DoubleMatrix, _ b: DoubleMatrix, transposeA: Bool = false,
                        transposeB: Bool = false) throws -> DoubleMatrix {
        let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (k2, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        guard k == k2 else {
            throw RepairError.shapeMismatch("cannot multiply \(m)×\(k) by \(k2)×\(n)")
        }
        var result = DoubleMatrix(zeros: m, n)
        guard m > 0, n > 0, k > 0 else { return result }
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                result.values.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                                transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                                pa.baseAddress, Int32(a.columns), pb.baseAddress, Int32(b.columns), 0,
                                pc.baseAddress, Int32(n))
                }
            }
        }
        return result
    }

    /// `self · vector` (or `selfᵀ · vector`) by `cblas_dgemv`.
    func times(_ vector: [Double], transposed: Bool = false) -> [Double] {
        var result = [Double](repeating: 0, count: transposed ? columns : rows)
        guard rows > 0, columns > 0 else { return result }
        values.withUnsafeBufferPointer { pa in
            vector.withUnsafeBufferPointer { px in
                result.withUnsafeMutableBufferPointer { py in
                    cblas_dgemv(CblasRowMajor, transposed ? CblasTrans : CblasNoTrans, Int32(rows), Int32(columns),
                                1, pa.baseAddress, Int32(columns), px.baseAddress, 1, 0, py.baseAddress, 1)
                }
            }
        }
        return result
    }

    /// Frobenius norm.
    public var frobeniusNorm: Double { values.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}
