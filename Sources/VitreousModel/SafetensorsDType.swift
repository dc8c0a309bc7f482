/// The element types of the safetensors format, by their names in the header.
///
/// Every type of the format is recognised, so a file holding integer tensors next to the weights still
/// opens; only the floating-point ones can be read as `Float` (see ``isReadableAsFloat``).
public enum SafetensorsDType: String, Sendable, CaseIterable, Codable {
    /// IEEE float64.
    case f64 = "F64"
    /// IEEE float32.
    case f32 = "F32"
    /// IEEE float16.
    case f16 = "F16"
    /// bfloat16: float32's exponent, 7 mantissa bits.
    case bf16 = "BF16"
    /// 8-bit float, 4 exponent and 3 mantissa bits.
    case f8e4m3 = "F8_E4M3"
    /// 8-bit float, 5 exponent and 2 mantissa bits.
    case f8e5m2 = "F8_E5M2"
    /// Signed 64-bit integer.
    case i64 = "I64"
    /// Signed 32-bit integer.
    case i32 = "I32"
    /// Signed 16-bit integer.
    case i16 = "I16"
    /// Signed 8-bit integer.
    case i8 = "I8"
    /// Unsigned 64-bit integer.
    case u64 = "U64"
    /// Unsigned 32-bit integer.
    case u32 = "U32"
    /// Unsigned 16-bit integer.
    case u16 = "U16"
    /// Unsigned 8-bit integer.
    case u8 = "U8"
    /// Boolean, one byte.
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: return 1
        }
    }

    /// True for the types ``SafetensorsFile/floats(_:)`` converts: F64, F32, F16 and BF16.
    public var isReadableAsFloat: Bool { [.f64, .f32, .f16, .bf16].contains(self) }
}

/// Little-endian element decoding. Loads are unaligned: a safetensors data offset need not be a multiple of
/// the element size.
enum ElementDecoding {
    /// Converts `count` elements of `dtype` at `bytes` to Float. `dtype` is one of the readable ones.
    static func floats(_ bytes: UnsafeRawBufferPointer, dtype: SafetensorsDType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case .f32:
                #if _endian(little)
                if count > 0, let source = bytes.baseAddress, let target = out.baseAddress {
                    UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count * 4)
                }
                #else
                for i in 0..<count { out[i] = Float(bitPattern: load(bytes, i * 4, as: UInt32.self)) }
                #endif
            case .f16:
                for i in 0..<count { out[i] = halfToFloat(load(bytes, i * 2, as: UInt16.self)) }
            case .bf16:
                // bfloat16 is the top half of a float32, so widening is a shift.
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(load(bytes, i * 2, as: UInt16.self)) << 16) }
            case .f64:
                for i in 0..<count { out[i] = Float(Double(bitPattern: load(bytes, i * 8, as: UInt64.self))) }
            default:
                for i in 0..<count { out[i] = .nan }  // unreachable: callers check isReadableAsFloat
            }
            initialized = count
        }
    }

    @inline(__always)
    static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int, as type: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// IEEE 754 binary16 to binary32, exactly (every half value is a float value), subnormals included.
    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        var mantissa = UInt32(bits) & 0x3FF
        switch exponent {
        case 0x1F:  // infinity or NaN: keep the payload
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        case 0:
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal half: normalise it, as every one is a normal float.
            var shift: UInt32 = 0
            while mantissa & 0x400 == 0 {
                mantissa <<= 1
                shift += 1
            }
            mantissa &= 0x3FF
            return Float(bitPattern: sign | ((127 - 15 + 1 - shift) << 23) | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
        }
    }
}
