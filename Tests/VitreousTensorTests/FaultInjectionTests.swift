import COpenCL
import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

/// The OpenCL devices present; under CI an empty list fails ``DeviceTests/openCLPresentInCI()``.
let openCLTestDevices: [Device] = testDevices.filter { $0 != .cpu }

/// Device-side failures made on purpose: each must become a Swift error and leave the backend usable,
/// which the same operation proves right after by matching the float64 reference.
/// Faults are scoped to the task that injects them, so these tests share the backends with the others.
@Suite("OpenCL fault injection")
struct FaultInjectionTests {
    /// A small GELU + GEMM workload, checked against float64: the kernel path and the CLBlast path.
    struct Workload {
        let x: Tensor
        let w: Tensor
        let xValues: [Float]
        let wValues: [Float]
        static let (rows, inner, columns) = (37, 48, 29)

        init(device: Device, random: inout TestRandom) throws {
            xValues = random.normal(Self.rows * Self.inner)
            wValues = random.normal(Self.inner * Self.columns, std: 0.2)
            x = try Tensor(xValues, shape: [Self.rows, Self.inner], on: device)
            w = try Tensor(wValues, shape: [Self.inner, Self.columns], on: device)
        }

        func run() throws -> Tensor { try matmul(try gelu(x), w) }

        func check(_ out: Tensor, _ context: String) throws {
            let activated = xValues.doubles.map(Reference.gelu)
            let expected = Reference.matmul(activated, wValues.doubles, m: Self.rows, n: Self.columns, k: Self.inner)
            try expectClose(out, expected, bound: 1e-5, context)
        }
    }

    /// Runs `body` with `plan` armed and returns the error it throws (recording an issue when none).
    func failure(_ plan: OpenCLFaultPlan, _ body: () throws -> Void,
                 sourceLocation: SourceLocation = #_sourceLocation) -> VitreousError? {
        do {
            try OpenCLFaults.inject(plan) { try body() }
            Issue.record("no error with an injected fault", sourceLocation: sourceLocation)
        } catch let error as VitreousError {
            return error
        } catch {
            Issue.record("not a VitreousError: \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test("CL_OUT_OF_RESOURCES from a kernel launch or a CLBlast call is an error; the next run is right",
          arguments: openCLTestDevices)
    func enqueueFailure(device: Device) throws {
        var random = TestRandom()
        let work = try Workload(device: device, random: &random)
        for operation in ["clEnqueueNDRangeKernel(gelu)", "CLBlastSgemm"] {
            let plan = OpenCLFaultPlan([.enqueue: [CL_OUT_OF_RESOURCES]], operations: operation)
            let error = failure(plan) { _ = try work.run().toArray() }
            #expect(error == .openCL(status: CL_OUT_OF_RESOURCES, name: "CL_OUT_OF_RESOURCES", operation: operation),
                    "\(String(describing: error))")
            #expect(plan.remaining == 0)
            try work.check(try work.run(), "after a fault in \(operation), seed \(random.seed)")
        }
    }

    @Test("an allocation failure is retried once after the pool lets go; a second one is an error",
          arguments: openCLTestDevices)
    func allocationFailure(device: Device) throws {
        // A size no other test uses, so the request reaches the driver instead of the pool.
        let elements = 3_000_000 + Int.random(in: 0..<100_000) * 4
        let once = OpenCLFaultPlan([.allocation: [CL_MEM_OBJECT_ALLOCATION_FAILURE]])
        let survived = try OpenCLFaults.inject(once) { try Tensor.filled(2, shape: [elements], on: device) }
        #expect(once.remaining == 0)
        #expect(try survived.toArray().allSatisfy { $0 == 2 })

        let twice = OpenCLFaultPlan([.allocation: [CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES]])
        let error = failure(twice) { _ = try Tensor.filled(1, shape: [elements + 4096], on: device) }
        guard case .allocationFailed(let message) = error else {
            Issue.record("wrong error \(String(describing: error))")
            return
        }
        #expect(message.contains("CL_OUT_OF_RESOURCES"), "\(message)")
        var random = TestRandom()
        let work = try Workload(device: device, random: &random)
        try work.check(try work.run(), "after allocation failures, seed \(random.seed)")
    }

    @Test("a failed kernel build is not cached: the next request builds the program", arguments: openCLTestDevices)
    func buildFailure(device: Device) throws {
        guard let backend = try backend(for: device) as? OpenCLBackend else { return }
        // A variant of the program that no other test builds, so the request reaches the compiler.
        let variant = "-DVITREOUS_FAULT_PROBE=\(UInt32.random(in: 0...UInt32.max))"
        let plan = OpenCLFaultPlan([.build: [CL_BUILD_PROGRAM_FAILURE]])
        let error = failure(plan) { _ = try backend.programs.kernel(.gelu, defines: variant) }
        guard case .kernelBuildFailed(let program, _, let log) = error else {
            Issue.record("wrong error \(String(describing: error))")
            return
        }
        #expect(program == "elementwise" && log.contains("CL_BUILD_PROGRAM_FAILURE"))
        _ = try backend.programs.kernel(.gelu, defines: variant)
        var random = TestRandom()
        let work = try Workload(device: device, random: &random)
        try work.check(try work.run(), "after a build failure, seed \(random.seed)")
    }

    @Test("a lost device while waiting: deviceLost, a new queue, and later work is right",
          arguments: openCLTestDevices)
    func lostDevice(device: Device) throws {
        var random = TestRandom()
        let work = try Workload(device: device, random: &random)
        // Where a lost device or a crashed kernel shows: in clFinish and in a blocking read; NVIDIA's drivers
        // report a crashed kernel as CL_OUT_OF_RESOURCES (or -9999) at the next wait.
        let cases: [(Int32, (Tensor) throws -> Void)] = [
            (CL_DEVICE_NOT_AVAILABLE, { _ in try backend(for: device).synchronize() }),
            (CL_OUT_OF_RESOURCES, { out in _ = try out.toArray() }),
            (-9999, { _ in try backend(for: device).synchronize() }),
        ]
        for (status, wait) in cases {
            let plan = OpenCLFaultPlan([.finish: [status]])
            let error = failure(plan) { try wait(try work.run()) }
            guard case .deviceLost(let message) = error else {
                Issue.record("wrong error for \(openCLStatusName(status)): \(String(describing: error))")
                continue
            }
            #expect(message.contains(openCLStatusName(status)), "\(message)")
            try work.check(try work.run(), "after \(openCLStatusName(status)), seed \(random.seed)")
        }
    }

    @Test("a failure that does not lose the queue keeps it", arguments: openCLTestDevices)
    func ordinaryFailureKeepsQueue(device: Device) throws {
        var random = TestRandom()
        let work = try Workload(device: device, random: &random)
        let pending = try work.run()  // queued, not waited for
        let plan = OpenCLFaultPlan([.enqueue: [CL_INVALID_VALUE]], operations: "clEnqueueCopyBuffer")
        let error = failure(plan) { _ = try work.x.copy() }
        #expect(error == .openCL(status: CL_INVALID_VALUE, name: "CL_INVALID_VALUE", operation: "clEnqueueCopyBuffer"))
        // Work queued before the failure still completes on the same queue.
        try work.check(pending, "work queued before an ordinary failure, seed \(random.seed)")
    }
}
