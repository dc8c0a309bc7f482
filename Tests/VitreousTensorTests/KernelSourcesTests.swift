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

    @Test("every embedded program builds on every OpenCL device")
    func everyProgramBuilds() throws {
        for info in Device.openCLDevices {
            let backend = try #require(try backend(for: .openCL(info.index)) as? OpenCLBackend)
            for (name, source) in KernelSources.all {
                _ = try backend.programs.build(name: name, source: source,
                                               options: backend.programs.tuning.options(for: name))
            }
        }
    }
}

private extension String {
    /// Swift multi-line literals drop the final newline of the file they were made from.
    var trimmingSuffixNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
