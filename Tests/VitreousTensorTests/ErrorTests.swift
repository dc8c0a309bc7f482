import COpenCL
import Foundation
import Testing
@testable import VitreousTensor

/// Misuse gives a readable Swift error, never a trap.
@Suite("Errors")
struct ErrorTests {
    @Test("shape mismatches name the operation and the shapes", arguments: testDevices)
    func shapeMismatch(device: Device) throws {
        let x = try Tensor.zeros(shape: [5, 64], on: device)
        let w = try Tensor.zeros(shape: [32, 48], on: device)
        #expect(message { _ = try linear(x, weight: w) }.contains("linear: weight [32, 48]"))
        #expect(message { _ = try matmul(x, w) }.contains("inner sizes 64 and 32"))
        #expect(message { _ = try add(x, w) }.contains("shape mismatch"))
        #expect(message { _ = try layerNorm(x, weight: w, bias: w) }.contains("layerNorm: weight"))
        #expect(message { _ = try layerNorm(x, weight: try .zeros(shape: [64], on: device),
                                             bias: try .zeros(shape: [64], on: device), eps: -1) }
            .contains("eps"))
        #expect(message { _ = try tokenNorms(x, statisticsOver: 3..<9) }.contains("statistics range"))
        #expect(message { _ = try tokenNorms(try .zeros(shape: [0, 4], on: device)) }.contains("no tokens"))
        #expect(message { _ = try Tensor([1, 2, 3], shape: [2, 2], on: device) }.contains("3 values"))
        #expect(message { _ = try x.reshaped([7, 7]) }.contains("cannot reshape"))
        #expect(message { _ = try Tensor.zeros(shape: [-1], on: device) }.contains("negative"))
        #expect(message { _ = try Tensor.zeros(shape: [1 << 20, 1 << 20], on: device) }.contains("2³¹"))
    }

    @Test("tensors on different devices are refused")
    func deviceMismatch() throws {
        guard let info = Device.openCLDevices.first else { return }
        let host = try Tensor.zeros(shape: [4, 4], on: .cpu)
        let gpu = try Tensor.zeros(shape: [4, 4], on: .openCL(info.index))
        #expect(message { _ = try add(host, gpu) }.contains("device mismatch: add got tensors on cpu and opencl:"))
        #expect(message { _ = try backend(for: .openCL(99)) }.contains("opencl:99"))
    }

    @Test("a kernel that fails to compile reports the driver's build log")
    func kernelBuildFailure() throws {
        guard let info = Device.openCLDevices.first else { return }
        let backend = try #require(try backend(for: .openCL(info.index)) as? OpenCLBackend)
        let broken = "__kernel void broken(__global float* y) { y[0] = undefined_symbol_xyz; }"
        do {
            _ = try backend.programs.build(name: "broken", source: broken, options: "")
            Issue.record("a broken kernel compiled")
        } catch let error as VitreousError {
            guard case .kernelBuildFailed(let program, _, let log) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(program == "broken")
            #expect(log.contains("undefined_symbol_xyz"), "build log: \(log)")
        }
    }

    @Test("OpenCL status codes surface by name")
    func statusNames() throws {
        #expect(openCLStatusName(-30) == "CL_INVALID_VALUE")
        #expect(openCLStatusName(-5) == "CL_OUT_OF_RESOURCES")
        #expect(openCLStatusName(-1001) == "CL_PLATFORM_NOT_FOUND_KHR")
        #expect(openCLStatusName(-1017) == "CLBlastInvalidDimension")
        #expect(openCLStatusName(-12345) == "status -12345")
        guard let handle = OpenCLPlatforms.enumeration.devices.first else { return }
        // A real driver call with a parameter that does not exist.
        do {
            let _: UInt32 = try OpenCLPlatforms.deviceInfo(handle.device, 0x7fff)
            Issue.record("the driver accepted an unknown parameter")
        } catch let error as VitreousError {
            #expect(String(describing: error).contains("CL_INVALID_VALUE"), "\(error)")
        }
    }

    @Test("an allocation larger than the device allows is an error, not a crash")
    func oversizedAllocation() throws {
        guard let info = Device.openCLDevices.first, info.maxAllocationBytes < UInt64(Int32.max) * 4 else { return }
        let elements = Int(info.maxAllocationBytes / 4) + 1024
        #expect(message { _ = try backend(for: .openCL(info.index)).empty(shape: [elements]) }.contains("allocation"))
    }
}
