import Foundation
import Testing
@testable import VitreousTensor

@Suite("Embedded kernel sources")
struct KernelSourcesTests {
    @Test("KernelSources.generated.swift matches Kernels/*.cl (run Scripts/generate-kernel-sources.sh)")
    func generatedSourcesAreCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let folder = root.appendingPathComponent("Kernels")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".cl") }
        #expect(!files.isEmpty)
        #expect(Set(files.map { String($0.dropLast(3)) }) == Set(KernelSources.all.keys))
        for file in files {
            let onDisk = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(KernelSources.all[String(file.dropLast(3))] == onDisk.trimmingSuffixNewline, "\(file) is stale")
        }
    }

    @Test("every file of Kernels/ is a declared program")
    func everyFileIsDeclared() {
        #expect(Set(KernelProgram.all.map(\.file)) == Set(KernelSources.all.keys))
        for program in KernelProgram.all { #expect(program.source == KernelSources.all[program.file]) }
    }

    @Test("every declared program builds with its options on every OpenCL device")
    func everyProgramBuilds() throws {
        for info in Device.openCLDevices {
            let backend = try #require(try backend(for: .openCL(info.index)) as? OpenCLBackend)
            for program in KernelProgram.all {
                _ = try backend.programs.build(name: program.file, source: program.source,
                                               options: backend.programs.tuning.options(for: program))
            }
        }
    }

    @Test("tunables: class defaults, overrides that are powers of two, work groups within the device's limit")
    func tunables() throws {
        guard let info = Device.openCLDevices.first else {
            #expect(!runningInCI, "CI needs an OpenCL device")
            return
        }
        let tuning = OpenCLTuning(device: info, overrides: "LN_WG=4, SM_WG=3 ATT_UNROLL=1")
        #expect(tuning[.layerNormGroup] == min(4, info.maxWorkGroupSize))
        #expect(tuning[.softmaxGroup] == OpenCLTuning(device: info, overrides: "")[.softmaxGroup])
        #expect(tuning[.attentionUnroll] == KernelTunable.attentionUnroll.defaultValue(on: tuning.deviceClass))
        let gpu = OpenCLTuning(device: info, overrides: "gpu")
        #expect(gpu.deviceClass == .gpu && gpu[.rowVectorWidth] == 4)
        #expect(gpu.options(for: .layerNorm) == "-cl-std=CL1.2 -DLN_WG=\(min(128, info.maxWorkGroupSize)) -DLN_VEC=4")
        #expect(gpu.options(for: .tokens) == "-cl-std=CL1.2 -DTOK_WG=\(min(256, info.maxWorkGroupSize))")
    }
}

private extension String {
    /// Swift multi-line literals drop the final newline of the file they were made from.
    var trimmingSuffixNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
