import COpenCL

/// What Vitreous knows about one OpenCL device: enough to choose between devices and to key caches.
public struct OpenCLDeviceInfo: Sendable, Hashable, CustomStringConvertible {
    /// Position in ``Device/openCLDevices`` (all platforms, in driver order); `Device.openCL(index)` names it.
    public let index: Int
    /// `CL_PLATFORM_NAME`.
    public let platformName: String
    /// `CL_PLATFORM_VENDOR`.
    public let platformVendor: String
    /// `CL_DEVICE_NAME`.
    public let name: String
    /// `CL_DEVICE_VENDOR`.
    public let vendor: String
    /// `CL_DRIVER_VERSION`: part of the on-disk kernel cache key.
    public let driverVersion: String
    /// `CL_DEVICE_VERSION`, for example `OpenCL 3.0 PoCL ...`.
    public let openCLVersion: String
    /// `CL_DEVICE_GLOBAL_MEM_SIZE`.
    public let globalMemoryBytes: UInt64
    /// `CL_DEVICE_MAX_MEM_ALLOC_SIZE`: the largest single buffer.
    public let maxAllocationBytes: UInt64
    /// `CL_DEVICE_LOCAL_MEM_SIZE`: local memory per work-group.
    public let localMemoryBytes: UInt64
    /// `CL_DEVICE_MAX_COMPUTE_UNITS`.
    public let computeUnits: Int
    /// `CL_DEVICE_MAX_WORK_GROUP_SIZE`.
    public let maxWorkGroupSize: Int
    /// `CL_DEVICE_TYPE_GPU`.
    public let isGPU: Bool
    /// `CL_DEVICE_TYPE_ACCELERATOR`.
    public let isAccelerator: Bool
    /// `CL_DEVICE_TYPE_CPU` (PoCL, for example).
    public let isCPU: Bool
    /// Whether the device has the `cl_khr_fp64` extension.
    public let supportsFP64: Bool
    /// Whether the device has the `cl_khr_fp16` extension.
    public let supportsFP16: Bool

    /// "GPU", "accelerator", "CPU" or "other".
    public var kind: String {
        isGPU ? "GPU" : isAccelerator ? "accelerator" : isCPU ? "CPU" : "other"
    }

    public var description: String {
        let gib = Double(globalMemoryBytes) / 1_073_741_824
        return "opencl:\(index) \(name) [\(kind), \(platformName), driver \(driverVersion), "
            + "\(computeUnits) compute units, \(String(format: "%.1f", gib)) GiB]"
    }
}

/// Driver handles of one device; valid for the life of the process (OpenCL never frees platform/device ids).
struct OpenCLDeviceHandle: @unchecked Sendable {  // immutable ids owned by the ICD loader
    let platform: cl_platform_id
    let device: cl_device_id
    let info: OpenCLDeviceInfo
}

/// Enumerates OpenCL devices once per process. An absent ICD loader, no platform or a failing driver
/// all give an empty list plus the reason, never a crash.
enum OpenCLPlatforms {
    struct Enumeration: Sendable {
        let devices: [OpenCLDeviceHandle]
        /// Why the list is empty, when it is.
        let problem: String?
    }

    static let enumeration: Enumeration = enumerate()

    private static func enumerate() -> Enumeration {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        if status != CL_SUCCESS || platformCount == 0 {
            let why = status == CL_SUCCESS ? "no OpenCL platform installed"
                : "clGetPlatformIDs returned \(openCLStatusName(status))"
            return Enumeration(devices: [], problem: why)
        }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        guard clGetPlatformIDs(platformCount, &platforms, nil) == CL_SUCCESS else {
            return Enumeration(devices: [], problem: "clGetPlatformIDs failed listing platforms")
        }
        var handles: [OpenCLDeviceHandle] = []
        for case let platform? in platforms {
            var deviceCount: cl_uint = 0
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount) == CL_SUCCESS,
                  deviceCount > 0 else { continue }
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil) == CL_SUCCESS
            else { continue }
            for case let id? in ids {
                let info = describe(platform: platform, device: id, index: handles.count)
                handles.append(OpenCLDeviceHandle(platform: platform, device: id, info: info))
            }
        }
        return Enumeration(devices: handles, problem: handles.isEmpty ? "OpenCL platforms have no devices" : nil)
    }

    private static func describe(platform: cl_platform_id, device: cl_device_id, index: Int) -> OpenCLDeviceInfo {
        let type: cl_device_type = deviceScalar(device, CL_DEVICE_TYPE) ?? 0
        let extensions = deviceString(device, CL_DEVICE_EXTENSIONS)
        let fp64: cl_device_fp_config = deviceScalar(device, CL_DEVICE_DOUBLE_FP_CONFIG) ?? 0
        return OpenCLDeviceInfo(
            index: index,
            platformName: platformString(platform, CL_PLATFORM_NAME),
            platformVendor: platformString(platform, CL_PLATFORM_VENDOR),
            name: deviceString(device, CL_DEVICE_NAME),
            vendor: deviceString(device, CL_DEVICE_VENDOR),
            driverVersion: deviceString(device, CL_DRIVER_VERSION),
            openCLVersion: deviceString(device, CL_DEVICE_VERSION),
            globalMemoryBytes: deviceScalar(device, CL_DEVICE_GLOBAL_MEM_SIZE) ?? 0,
            maxAllocationBytes: deviceScalar(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE) ?? 0,
            localMemoryBytes: deviceScalar(device, CL_DEVICE_LOCAL_MEM_SIZE) ?? 0,
            computeUnits: Int(deviceScalar(device, CL_DEVICE_MAX_COMPUTE_UNITS) as cl_uint? ?? 1),
            maxWorkGroupSize: deviceScalar(device, CL_DEVICE_MAX_WORK_GROUP_SIZE) ?? 1,
            isGPU: type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0,
            isAccelerator: type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0,
            isCPU: type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0,
            supportsFP64: fp64 != 0 || extensions.contains("cl_khr_fp64"),
            supportsFP16: extensions.contains("cl_khr_fp16"))
    }

    /// Raw `clGetDeviceInfo` for a fixed-size value; nil when the driver refuses.
    static func deviceScalar<T>(_ device: cl_device_id, _ param: Int32) -> T? {
        // Not `try? deviceInfo(device, param)`: for a `T?` result the type checker may pick `deviceInfo<T?>`,
        // which asks the driver for 9 bytes of a UInt64 and reads an uninitialised tag byte (found when the
        // ThreadSanitizer build saw CPU devices as "other").
        do {
            return try deviceInfo(device, param) as T
        } catch {
            return nil
        }
    }

    /// `clGetDeviceInfo` for a fixed-size value, throwing the driver's status by name.
    static func deviceInfo<T>(_ device: cl_device_id, _ param: Int32) throws -> T {
        let size = MemoryLayout<T>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<T>.alignment)
        defer { raw.deallocate() }
        try checkCL(clGetDeviceInfo(device, cl_device_info(param), size, raw, nil), "clGetDeviceInfo(\(param))")
        return raw.load(as: T.self)
    }

    static func deviceString(_ device: cl_device_id, _ param: Int32) -> String {
        infoString { clGetDeviceInfo(device, cl_device_info(param), $0, $1, $2) }
    }

    static func platformString(_ platform: cl_platform_id, _ param: Int32) -> String {
        infoString { clGetPlatformInfo(platform, cl_platform_info(param), $0, $1, $2) }
    }

    /// The two-call string query shared by every `clGet*Info` entry point.
    static func infoString(_ query: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int) -> String {
        var size = 0
        guard query(0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard bytes.withUnsafeMutableBytes({ query(size, $0.baseAddress, nil) }) == CL_SUCCESS else { return "" }
        let utf8 = bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: utf8, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}
