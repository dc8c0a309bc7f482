import Foundation

/// Vectorised math shared by the CPU kernels.
enum CPUMath {
    typealias Vector = SIMD8<Float>

    /// erf for float32 by the rational approximation Eigen and XLA use (max error ≈ 2 ulp on [-4, 4];
    /// |erf| rounds to 1 beyond). Vectorised; NaN in gives NaN out.
    @inline(__always)
    static func erf(_ x: Vector) -> Vector {
        let v = x.clamped(lowerBound: Vector(repeating: -4), upperBound: Vector(repeating: 4))
        let x2 = v * v
        var p = Vector(repeating: -2.72614225801306e-10)
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q = Vector(repeating: -1.45660718464996e-05)
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        let result = v * p / q
        // clamped() turns NaN into a bound; put NaN back so bad inputs stay visible.
        return result.replacing(with: x, where: x .!= x)
    }

    /// e^x for float32 (Cephes' expf: range reduction by ln 2 split in two parts, degree-6 polynomial;
    /// within 2 ulp). Saturates to 0 below −87.3 and to 3.4e38 above 88.7; NaN stays NaN.
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        let v = x.clamped(lowerBound: Vector(repeating: -87.3), upperBound: Vector(repeating: 88.7))
        let n = (v * 1.442_695_040_888_963_4).rounded(.toNearestOrEven)
        let r = v - n * 0.693_359_375 + n * 2.121_944_40e-4
        var p = Vector(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let mantissa = p * r * r + r + 1
        let exponent = (SIMD8<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
        let result = mantissa * unsafeBitCast(exponent, to: Vector.self)
        return result.replacing(with: x, where: x .!= x)
    }

    /// Exact (erf) GELU.
    @inline(__always)
    static func gelu(_ x: Vector) -> Vector {
        0.5 * x * (1 + erf(x * 0.707_106_781_186_547_524_4))
    }

    @inline(__always)
    static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + Foundation.erf(x * 0.707_106_781_186_547_524_4))
    }

    /// Applies `vector` to whole SIMD lanes of `count` elements and `scalar` to the tail.
    @inline(__always)
    static func forEachLane(_ count: Int, vector: (Int) -> Void, scalar: (Int) -> Void) {
        let lanes = Vector.scalarCount
        var i = 0
        while i + lanes <= count {
            vector(i)
            i += lanes
        }
        while i < count {
            scalar(i)
            i += 1
        }
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func loadVector(at offset: Int) -> CPUMath.Vector {
        UnsafeRawPointer(self + offset).loadUnaligned(as: CPUMath.Vector.self)
    }

    @inline(__always) func storeVector(_ value: CPUMath.Vector, at offset: Int) {
        UnsafeMutableRawPointer(self + offset).storeBytes(of: value, as: CPUMath.Vector.self)
    }
}
