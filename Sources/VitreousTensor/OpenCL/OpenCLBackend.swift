import CCLBlast
import COpenCL
import Foundation

/// An OpenCL device: one context and one in-order queue, kernel programs built once and cached,
/// a buffer pool, GEMM through CLBlast and the rest through Vitreous's kernels in `Kernels/`.
///
/// Operations are queued without waiting; ``read(_:into:)`` and ``synchronize()`` wait. Launches from
/// several threads are serialised by a lock (kernel objects hold their arguments, so setting them up
/// and enqueueing must not interleave); the queue keeps the device busy meanwhile.
///
/// Driver failures become ``VitreousError`` values and leave the backend usable: a failed allocation is
/// retried once after the pool gives its idle buffers back, a failed build is not cached, and when the
/// queue is lost (device gone, a kernel crashed it) the backend makes a new queue and reports
/// ``VitreousError/deviceLost(_:)`` for the work that was pending.
package final class OpenCLBackend: Backend, @unchecked Sendable {  // handles immutable; `queue` and launches behind `launchLock`
    package let device: Device
    package var kind: BackendKind { .openCL(self) }
    /// The device's properties.
    package let info: OpenCLDeviceInfo
    let context: cl_context
    /// Replaced after a lost queue; read and written only under `launchLock`.
    private var queue: cl_command_queue
    private let deviceID: cl_device_id
    let pool: OpenCLBufferPool
    let programs: OpenCLPrograms
    private let launchLock = NSLock()

    init(handle: OpenCLDeviceHandle) throws {
        info = handle.info
        device = .openCL(handle.info.index)
        var status: cl_int = 0
        var deviceID: cl_device_id? = handle.device
        var properties: [cl_context_properties] = [
            cl_context_properties(CL_CONTEXT_PLATFORM), cl_context_properties(Int(bitPattern: handle.platform)), 0,
        ]
        guard let context = clCreateContext(&properties, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw VitreousError.deviceUnavailable(
                "\(handle.info.name): clCreateContext returned \(openCLStatusName(status))")
        }
        guard let queue = clCreateCommandQueue(context, handle.device, 0, &status), status == CL_SUCCESS else {
            clReleaseContext(context)
            throw VitreousError.deviceUnavailable(
                "\(handle.info.name): clCreateCommandQueue returned \(openCLStatusName(status))")
        }
        self.context = context
        self.queue = queue
        self.deviceID = handle.device
        // Keep at most a quarter of the device's memory in the pool.
        pool = OpenCLBufferPool(context: context, capacityBytes: Int(min(handle.info.globalMemoryBytes / 4,
                                                                         UInt64(Int.max))))
        programs = OpenCLPrograms(context: context, handle: handle, tuning: OpenCLTuning(device: handle.info))
    }

    deinit {
        clFinish(queue)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// Buffer-pool counters: buffers created, requests served from the pool, live and peak bytes.
    package var allocationStatistics: AllocationStatistics { pool.allocationStatistics }

    /// Releases the pooled (unused) device buffers to the driver.
    package func trimBufferPool() { pool.trim() }

    // MARK: Memory

    package func empty(shape: [Int]) throws -> Tensor {
        try Tensor.validate(shape: shape)
        let count = shape.reduce(1, *)
        guard UInt64(count) * 4 <= info.maxAllocationBytes || info.maxAllocationBytes == 0 else {
            throw VitreousError.allocationFailed(
                "\(count * 4) bytes exceed \(info.name)'s largest allocation (\(info.maxAllocationBytes) bytes)")
        }
        let (buffer, bytes) = try pool.obtain(bytes: count * 4)
        let storage = CLStorage(count: count, buffer: buffer, bytes: bytes, device: device, pool: pool)
        if allocationPoisoning {
            var nan = Float.nan
            try enqueue("clEnqueueFillBuffer") { clEnqueueFillBuffer($0, buffer, &nan, 4, 0, bytes, 0, nil, nil) }
        }
        return Tensor(shape: shape, storage: storage)
    }

    package func tensor(_ values: UnsafeBufferPointer<Float>, shape: [Int]) throws -> Tensor {
        let out = try empty(shape: shape)
        guard let base = values.baseAddress, out.count > 0 else { return out }
        let target = try buffer(out)
        // Blocking write: the caller's memory may go away as soon as this returns.
        try enqueue("clEnqueueWriteBuffer", waits: true) {
            clEnqueueWriteBuffer($0, target, cl_bool(CL_TRUE), 0, min(values.count, out.count) * 4, base, 0, nil, nil)
        }
        return out
    }

    package func read(_ tensor: Tensor, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = destination.baseAddress, tensor.count > 0 else { return }
        if let half = tensor.storage as? HalfWeightStorage { return try read(halfWeightValues(half), into: destination) }
        let mem = try buffer(tensor)
        try enqueue("clEnqueueReadBuffer", waits: true) {
            clEnqueueReadBuffer($0, mem, cl_bool(CL_TRUE), 0, min(destination.count, tensor.count) * 4, base, 0, nil, nil)
        }
    }

    package func synchronize() throws {
        // Hold the queue, not the lock, while the device drains: other threads keep launching meanwhile.
        let current: cl_command_queue = launchLock.withLock {
            clRetainCommandQueue(queue)
            return queue
        }
        defer { clReleaseCommandQueue(current) }
        let status = OpenCLFaults.take(.finish, "clFinish") ?? clFinish(current)
        guard status != CL_SUCCESS else { return }
        try launchLock.withLock { try fail(status, at: .finish, "clFinish", queue: current) }
    }

    /// The device buffer behind an OpenCL tensor of this device.
    func buffer(_ tensor: Tensor) throws -> cl_mem {
        if tensor.storage is HalfWeightStorage {
            throw VitreousError.invalidArgument(
                "\(tensor) is an fp16 linear weight (linearWeight(_:precision:)); only linear reads it")
        }
        guard let storage = tensor.storage as? CLStorage, storage.device == device else {
            throw VitreousError.deviceMismatch("\(tensor) given to the \(device) backend")
        }
        return storage.buffer
    }

    package func copy(_ source: Tensor, into destination: Tensor) throws {
        guard source.count > 0 else { return }
        let (from, to) = (try buffer(source), try buffer(destination))
        try enqueue("clEnqueueCopyBuffer") {
            clEnqueueCopyBuffer($0, from, to, 0, 0, min(source.count, destination.count) * 4, 0, nil, nil)
        }
    }

    /// Runs one `clEnqueue…` call on the queue under the launch lock, translating its status. `waits`
    /// marks a blocking call, where errors of earlier work (a lost device, a crashed kernel) surface.
    func enqueue(_ operation: String, waits: Bool = false, _ body: (cl_command_queue) -> cl_int) throws {
        try launchLock.withLock { try queueCall(waits ? .finish : .enqueue, operation, body) }
    }

    /// Makes one call on the current queue, or reports the status a test injected at `point` instead; a failure
    /// goes through ``fail(_:at:_:queue:)``. Callers hold the launch lock.
    private func queueCall(_ point: OpenCLFaultPoint, _ operation: @autoclosure () -> String,
                           _ call: (cl_command_queue) -> cl_int) throws {
        let status = OpenCLFaults.take(point, operation()) ?? call(queue)
        if status != CL_SUCCESS { try fail(status, at: point, operation(), queue: queue) }
    }

    /// Throws the error for a failed queue call; first replaces the queue when `status` means it is lost,
    /// so that later work runs. Callers hold the launch lock.
    private func fail(_ status: cl_int, at point: OpenCLFaultPoint, _ operation: String,
                      queue failed: cl_command_queue) throws -> Never {
        let error = VitreousError.openCL(status: status, name: openCLStatusName(status), operation: operation)
        guard openCLStatusLosesQueue(status, at: point) else { throw error }
        if failed == queue {
            var status: cl_int = 0
            guard let fresh = clCreateCommandQueue(context, deviceID, 0, &status), status == CL_SUCCESS else {
                throw VitreousError.deviceUnavailable(
                    "\(info.name) was lost (\(error)) and no new queue could be made (\(openCLStatusName(status)))")
            }
            // Whatever the old queue still runs must not overlap work on the new one that reuses its buffers.
            clFinish(queue)
            clReleaseCommandQueue(queue)
            queue = fresh
        }
        throw VitreousError.deviceLost(
            "\(info.name): \(error); work queued since the last wait is lost and its outputs are undefined; "
                + "a new queue was made and later work runs normally")
    }

    /// Sets the arguments of `kernel` and enqueues it over `global` items in groups of `local`
    /// (global is rounded up to a multiple of local; kernels guard their own bounds). `defines` selects a
    /// variant of the program built with those extra `-D` options.
    func launch(_ declared: OpenCLKernel, defines: String = "", global: Int, local: Int,
                _ arguments: [KernelArgument]) throws {
        guard global > 0 else { return }
        let name = declared.function
        try launchLock.withLock {
            let kernel = try programs.kernel(declared, defines: defines)
            for (index, argument) in arguments.enumerated() {
                let status: cl_int
                switch argument {
                case .buffer(let mem):
                    var value = mem
                    status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem?>.size, &value)
                case .int(let value):
                    var value = value
                    status = clSetKernelArg(kernel, cl_uint(index), 4, &value)
                case .float(let value):
                    var value = value
                    status = clSetKernelArg(kernel, cl_uint(index), 4, &value)
                case .local(let bytes):
                    status = clSetKernelArg(kernel, cl_uint(index), bytes, nil)
                }
                try checkCL(status, "clSetKernelArg(\(name), \(index))")
            }
            var globalSize = (global + local - 1) / local * local
            var localSize = local
            try queueCall(.enqueue, "clEnqueueNDRangeKernel(\(name))") {
                clEnqueueNDRangeKernel($0, kernel, 1, nil, &globalSize, &localSize, 0, nil, nil)
            }
        }
    }

    /// Runs a CLBlast routine on this backend's queue, translating its status.
    func blast(_ operation: String, _ body: (UnsafeMutablePointer<cl_command_queue?>) -> CLBlastStatusCode) throws {
        try launchLock.withLock {
            try queueCall(.enqueue, operation) { queue in
                var current: cl_command_queue? = queue
                return Int32(body(&current).rawValue)
            }
        }
    }

    // MARK: Linear algebra

    package func matmul(_ a: Tensor, _ b: Tensor, into c: Tensor,
                       batch: Int, m: Int, n: Int, k: Int, transposeB: Bool, shareB: Bool) throws {
        let (ma, mb, mc) = (try buffer(a), try buffer(b), try buffer(c))
        guard m > 0, n > 0, batch > 0 else { return }
        guard k > 0 else {
            var zero: Float = 0
            try enqueue("clEnqueueFillBuffer") { clEnqueueFillBuffer($0, mc, &zero, 4, 0, batch * m * n * 4, 0, nil, nil) }
            return
        }
        let transB = transposeB ? CLBlastTransposeYes : CLBlastTransposeNo
        let ldb = transposeB ? k : n
        if shareB || batch == 1 {
            try blast("CLBlastSgemm") { queue in
                CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, transB, batch * m, n, k,
                             1, ma, 0, k, mb, 0, ldb, 0, mc, 0, n, queue, nil)
            }
        } else {
            try blast("CLBlastSgemmStridedBatched") { queue in
                CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo, transB, m, n, k,
                                           1, ma, 0, k, m * k, mb, 0, ldb, k * n, 0, mc, 0, n, m * n,
                                           batch, queue, nil)
            }
        }
    }
}
