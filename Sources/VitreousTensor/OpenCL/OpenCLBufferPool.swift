import COpenCL

typealias OpenCLBufferPool = BufferPool<cl_mem>

extension BufferPool where Buffer == cl_mem {
    /// A pool of read-write buffers of `context`.
    convenience init(context: cl_context, capacityBytes: Int) {
        self.init(capacityBytes: capacityBytes, make: { bytes in
            var status: cl_int = 0
            var buffer: cl_mem?
            if let injected = OpenCLFaults.take(.allocation, "clCreateBuffer") {
                status = injected
            } else {
                buffer = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
            }
            guard status == CL_SUCCESS, let buffer else {
                let code = status == CL_SUCCESS ? CL_MEM_OBJECT_ALLOCATION_FAILURE : status
                throw VitreousError.allocationFailed(
                    "clCreateBuffer(\(bytes) bytes) returned \(openCLStatusName(code)) even after the pool released its idle buffers")
            }
            return buffer
        }, release: { clReleaseMemObject($0) })
    }
}

/// Device memory of one OpenCL tensor. Returns its buffer to the pool when the last tensor using it goes.
final class CLStorage: TensorStorage, @unchecked Sendable {  // immutable fields; contents per TensorStorage
    let count: Int
    let buffer: cl_mem
    let bytes: Int
    let device: Device
    private let pool: OpenCLBufferPool

    init(count: Int, buffer: cl_mem, bytes: Int, device: Device, pool: OpenCLBufferPool) {
        self.count = count
        self.buffer = buffer
        self.bytes = bytes
        self.device = device
        self.pool = pool
    }

    deinit { pool.recycle(buffer, bytes: bytes) }
}
