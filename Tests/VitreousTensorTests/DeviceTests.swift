import Foundation
import Testing
@testable import VitreousTensor

@Suite("Devices and transfers")
struct DeviceTests {
    @Test("CI has an OpenCL device: a run that silently skips OpenCL proves nothing")
    func openCLPresentInCI() {
        if runningInCI {
            #expect(!Device.openCLDevices.isEmpty,
                    "CI=true but no OpenCL device: \(Device.openCLProblem ?? "unknown reason")")
        }
        #expect(testDevices.first == .cpu)
        let cpuOnly = ProcessInfo.processInfo.environment["VITREOUS_TEST_DEVICES"] == "cpu"  // test.sh's ISA reruns
        #expect(testDevices.count == 1 + (cpuOnly ? 0 : Device.openCLDevices.count))
    }

    @Test("device descriptions carry what a user chooses by")
    func deviceInfo() {
        for info in Device.openCLDevices {
            #expect(!info.name.isEmpty && !info.driverVersion.isEmpty)
            #expect(info.computeUnits > 0 && info.globalMemoryBytes > 0 && info.maxWorkGroupSize > 0)
            #expect(info.description.hasPrefix("opencl:\(info.index) "))
        }
    }

    @Test("VITREOUS_DEVICE parsing and the default choice")
    func parsing() throws {
        #expect(try Device.parse("cpu") == .cpu)
        #expect(try Device.parse(" CPU ") == .cpu)
        #expect(throws: VitreousError.self) { try Device.parse("tpu") }
        #expect(throws: VitreousError.self) { try Device.parse("opencl:x") }
        #expect(throws: VitreousError.self) { try Device.parse("opencl:99") }
        if let first = Device.openCLDevices.first {
            #expect(try Device.parse("opencl:0") == .openCL(first.index))
            #expect(try Device.parse("opencl") != .cpu)
        } else {
            #expect(throws: VitreousError.self) { try Device.parse("opencl") }
        }
        #expect(Device.select(environment: "cpu").device == .cpu)
        let bad = Device.select(environment: "opencl:99")
        #expect(bad.reason.contains("ignored"))
        // With only CPU OpenCL devices (PoCL) the automatic choice is the CPU backend.
        let automatic = Device.select(environment: nil)
        if !Device.openCLDevices.contains(where: { $0.isGPU || $0.isAccelerator }) {
            #expect(automatic.device == .cpu)
        }
    }

    @Test("host → device → host round trip is exact", arguments: testDevices)
    func roundTrip(device: Device) throws {
        var random = TestRandom()
        let values = random.normal(1370 * 3)
        let tensor = try Tensor(values, shape: [1370, 3], on: device)
        #expect(tensor.device == device)
        #expect(try tensor.toArray() == values)
        for target in testDevices {
            #expect(try tensor.to(target).toArray() == values, "\(device) → \(target)")
        }
        #expect(try tensor.reshaped([3, 1370]).toArray() == values)
    }

    /// The pool's bookkeeping on a private pool (the backends' pools are shared by tests running in parallel,
    /// so their counters cannot be pinned down here; `vitreous-bench` reports them for real workloads).
    @Test("buffer pool: a steady state of requests makes no new buffers; the cap and trim release them")
    func bufferPoolReuse() throws {
        final class Freed: @unchecked Sendable {  // touched only by this test's thread
            var count = 0
        }
        let freed = Freed()
        var next = 0
        let pool = BufferPool<Int>(capacityBytes: 3 * 8192, make: { _ in
            next += 1
            return next
        }, release: { _ in freed.count += 1 })
        func step() throws {
            let a = try pool.obtain(bytes: 5000), b = try pool.obtain(bytes: 8000), c = try pool.obtain(bytes: 100)
            for (buffer, bytes) in [a, b, c] { pool.recycle(buffer, bytes: bytes) }
        }
        try step()
        #expect(pool.statistics.created == 3 && pool.statistics.reused == 0)
        for _ in 0..<5 { try step() }
        #expect(pool.statistics.created == 3, "a repeated workload must be served from the pool")
        #expect(pool.statistics.reused == 15)
        #expect(pool.statistics.liveBytes == 0 && pool.statistics.peakLiveBytes == 8192 + 8192 + 4096)
        // Past the cap, returned buffers are released instead of kept.
        let big = try pool.obtain(bytes: 4 * 8192)
        pool.recycle(big.0, bytes: big.1)
        #expect(freed.count == 1)
        pool.trim()
        #expect(freed.count == 4)
    }

    @Test("buffer size classes")
    func sizeClasses() {
        #expect(BufferPool<HostBuffer>.sizeClass(1) == 4096)
        #expect(BufferPool<HostBuffer>.sizeClass(4097) == 8192)
        #expect(BufferPool<HostBuffer>.sizeClass(1 << 20) == 1 << 20)
        #expect(BufferPool<HostBuffer>.sizeClass((1 << 20) + 1) == (1 << 20) + (1 << 17))
    }
}
