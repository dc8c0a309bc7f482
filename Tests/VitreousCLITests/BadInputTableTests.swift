import Foundation
import Testing
import VitreousImage
import VitreousModel
@testable import VitreousTensor

/// One bad input: what to do with it and the words its error must contain.
private struct BadInput: Sendable, CustomStringConvertible {
    let description: String
    let expected: [String]
    let attempt: @Sendable (CLI) throws -> Void
}

/// Files the bad inputs are made from.
private enum Broken {
    /// A valid model with element `index` of the first tensor whose key contains `key` set to `value`.
    static func model(_ cli: CLI, _ name: String, key: String, index: Int, value: Float) throws -> String {
        let path = try cli.writeModel(name)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let file = try SafetensorsFile(URL(fileURLWithPath: path))
        let info = try file.info(try #require(file.names.first { $0.contains(key) }, "no key with \(key)"))
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let at = 8 + headerLength + info.dataOffsets.lowerBound + index * 4
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A PNG whose header claims `width × height` (valid chunk CRCs, no pixel data).
    static func pngHeader(width: UInt32, height: UInt32) -> Data {
        var data = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func chunk(_ type: String, _ body: [UInt8]) {
            let length = UInt32(body.count).bigEndian
            withUnsafeBytes(of: length) { data.append(contentsOf: $0) }
            let typed = Array(type.utf8) + body
            data.append(contentsOf: typed)
            withUnsafeBytes(of: crc32(typed).bigEndian) { data.append(contentsOf: $0) }
        }
        var header: [UInt8] = []
        withUnsafeBytes(of: width.bigEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: height.bigEndian) { header.append(contentsOf: $0) }
        header += [8, 2, 0, 0, 0]  // 8-bit RGB, deflate, no filter, no interlace
        chunk("IHDR", header)
        chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
        chunk("IEND", [])
        return data
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// Hand-made safetensors bytes: the length field (the header's own unless given), header, data.
    static func safetensors(header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
        var bytes = Data()
        let text = Array(header.utf8)
        withUnsafeBytes(of: (length ?? UInt64(text.count)).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + text + data
    }

    static func write(_ data: Data, _ cli: CLI, _ name: String) throws -> String {
        let url = cli.folder.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }
}

/// Every kind of bad input the issue tracker asked about, across the library and the command line: each
/// must give a clear error (the words listed), and the CLI cases must leave no output file and no
/// temporary file behind.
@Suite("bad inputs across the library and the CLI", .serialized)
struct BadInputTableTests {
    private static let library: [BadInput] = [
        BadInput(description: "truncated checkpoint", expected: ["past the end"]) { cli in
            let path = try cli.writeModel()
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: path))
            _ = try ViTEncoder(contentsOf: URL(fileURLWithPath: path), on: .cpu)
        },
        BadInput(description: "oversized checkpoint (bytes after the last tensor)",
                 expected: ["1000 bytes follow the last tensor"]) { cli in
            let path = try cli.writeModel()
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(count: 1000))
            try handle.close()
            _ = try ViTEncoder(contentsOf: URL(fileURLWithPath: path), on: .cpu)
        },
        BadInput(description: "huge header length", expected: ["header length", "exceeds the limit"]) { cli in
            let path = try Broken.write(Broken.safetensors(header: "{}", length: 1 << 62), cli, "huge.safetensors")
            _ = try SafetensorsFile(URL(fileURLWithPath: path))
        },
        BadInput(description: "header length past the end of the file", expected: ["runs past the end"]) { cli in
            let path = try Broken.write(Broken.safetensors(header: "{}", length: 4096), cli, "short.safetensors")
            _ = try SafetensorsFile(URL(fileURLWithPath: path))
        },
        BadInput(description: "unknown dtype", expected: ["unknown dtype 'Q4_K'"]) { cli in
            let header = #"{"w":{"dtype":"Q4_K","shape":[4],"data_offsets":[0,4]}}"#
            let path = try Broken.write(Broken.safetensors(header: header, data: [0, 0, 0, 0]), cli, "f8.safetensors")
            _ = try SafetensorsFile(URL(fileURLWithPath: path))
        },
        BadInput(description: "integer dtype read as weights", expected: ["'w'", "I32"]) { cli in
            let header = #"{"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#
            let path = try Broken.write(Broken.safetensors(header: header, data: [1, 0, 0, 0]), cli, "i32.safetensors")
            _ = try SafetensorsFile(URL(fileURLWithPath: path)).floats("w")
        },
        BadInput(description: "NaN weight", expected: ["1.mlp.fc1.weight", "nan", "element 5"]) { cli in
            let path = try Broken.model(cli, "nan.safetensors", key: "1.mlp.fc1.weight", index: 5, value: .nan)
            _ = try ViTEncoder(contentsOf: URL(fileURLWithPath: path), on: .cpu)
        },
        BadInput(description: "infinite weight", expected: ["cls_token", "inf"]) { cli in
            let path = try Broken.model(cli, "inf.safetensors", key: "cls_token", index: 0, value: .infinity)
            _ = try ViTEncoder(contentsOf: URL(fileURLWithPath: path), on: .cpu)
        },
        BadInput(description: "zero-sized image", expected: ["0×5", "not an image"]) { _ in
            _ = try Image(width: 0, height: 5, channels: 3, pixels: [])
        },
        BadInput(description: "PNG with a zero width", expected: ["zero.png", "cannot decode"]) { cli in
            let path = try Broken.write(Broken.pngHeader(width: 0, height: 16), cli, "zero.png")
            _ = try PNG.read(path)
        },
        BadInput(description: "giant PNG", expected: ["giant.png", "60000×60000", "megapixels"]) { cli in
            let path = try Broken.write(Broken.pngHeader(width: 60000, height: 60000), cli, "giant.png")
            _ = try PNG.read(path)
        },
        BadInput(description: "JPEG whose header claims 60000 × 60000", expected: ["giant.jpg", "60000×60000", "megapixels"]) { cli in
            var bytes = [UInt8](try Data(contentsOf: SharedFixtures.image("photo-baseline.jpg")))
            let frame = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
            bytes.replaceSubrange((frame + 5)..<(frame + 9), with: [0xEA, 0x60, 0xEA, 0x60])  // height, width
            _ = try ImageFile.read(try Broken.write(Data(bytes), cli, "giant.jpg"))
        },
        BadInput(description: "WebP whose header claims 16384 × 16384", expected: ["giant.webp", "16384×16384", "megapixels"]) { cli in
            var bytes = [UInt8](try Data(contentsOf: SharedFixtures.image("photo-lossless.webp")))
            // VP8L: signature 0x2F, then width − 1 and height − 1 in 14 bits each (little-endian bit order).
            let header = 20
            #expect(bytes[header] == 0x2F)
            let packed: UInt32 = 16383 | 16383 << 14 | (UInt32(bytes[header + 4]) >> 4) << 28
            withUnsafeBytes(of: packed.littleEndian) { bytes.replaceSubrange((header + 1)..<(header + 5), with: $0) }
            _ = try ImageFile.read(try Broken.write(Data(bytes), cli, "giant.webp"))
        },
        BadInput(description: "truncated JPEG", expected: ["cut.jpg", "cannot decode JPEG"]) { cli in
            let bytes = try Data(contentsOf: SharedFixtures.image("photo-progressive.jpg"))
            _ = try ImageFile.read(try Broken.write(bytes.prefix(bytes.count / 2), cli, "cut.jpg"))
        },
        BadInput(description: "truncated WebP", expected: ["cut.webp", "cannot decode WebP"]) { cli in
            let bytes = try Data(contentsOf: SharedFixtures.image("photo-lossy.webp"))
            _ = try ImageFile.read(try Broken.write(bytes.prefix(bytes.count / 2), cli, "cut.webp"))
        },
        BadInput(description: "zero-sized image file", expected: ["empty.jpg", "the file is empty"]) { cli in
            _ = try ImageFile.read(try Broken.write(Data(), cli, "empty.jpg"))
        },
        BadInput(description: "text named .webp", expected: ["page.webp", "not a PNG, JPEG or WebP image"]) { cli in
            _ = try ImageFile.read(try Broken.write(Data("<html>".utf8), cli, "page.webp"))
        },
        BadInput(description: "image side not a multiple of 14", expected: ["not a multiple of the patch size"]) { cli in
            let encoder = try ViTEncoder(contentsOf: URL(fileURLWithPath: try cli.writeModel()), on: .cpu)
            _ = try encoder.encode(try .zeros(shape: [1, 3, 50, 56], on: .cpu))
        },
        BadInput(description: "unknown device", expected: ["opencl:99 does not exist"]) { _ in
            _ = try backend(for: .openCL(99))
        },
        BadInput(description: "more elements than a tensor holds", expected: ["2³¹−1 elements"]) { _ in
            _ = try Tensor.zeros(shape: [1 << 20, 1 << 12], on: .cpu)
        },
    ]

    @Test("library: each bad input is a clear error", arguments: library)
    fileprivate func libraryInput(_ input: BadInput) throws {
        try CLI.withFolder { cli in
            let text = errorDescription { try input.attempt(cli) }
            #expect(!text.isEmpty, "\(input): no error")
            for words in input.expected {
                #expect(text.contains(words), "\(input): '\(words)' missing from: \(text)")
            }
        }
    }

    @Test("an allocation larger than the device allows is an error on every backend")
    func oversizedAllocation() throws {
        for device in Device.all {
            let limit: Int
            if case .openCL(let index) = device, let info = Device.openCLDevices.first(where: { $0.index == index }) {
                limit = Int(min(info.maxAllocationBytes / 4, UInt64(Int32.max)))
            } else {
                limit = Int(Int32.max)
            }
            let text = errorDescription { _ = try Tensor.zeros(shape: [limit + 1], on: device) }
            #expect(text.contains("allocation failed") || text.contains("2³¹−1 elements"), "\(device): \(text)")
        }
    }

    /// Command lines that must fail with the words given and write nothing into `out/`.
    private static let commandLines: [(String, [String], [String: String], [String])] = [
        ("truncated model", ["encode", "ok.png", "--model", "cut.safetensors", "--out", "out"], [:],
         ["cut.safetensors", "past the end"]),
        ("NaN weights", ["encode", "ok.png", "--model", "nan.safetensors", "--out", "out"], [:],
         ["nan.safetensors", "nan"]),
        ("giant image", ["encode", "giant.png", "--model", "model.safetensors", "--out", "out"], [:],
         ["giant.png", "megapixels"]),
        ("zero-sized image", ["encode", "zero.png", "--model", "model.safetensors", "--out", "out"], [:],
         ["zero.png"]),
        ("unknown device", ["encode", "ok.png", "--model", "model.safetensors", "--out", "out",
                            "--device", "opencl:99"], [:], ["opencl:99"]),
        ("output folder is a file", ["encode", "ok.png", "--model", "model.safetensors", "--out", "file.txt"], [:],
         ["file.txt"]),
    ]

    @Test("CLI: each bad input is one clear error, a nonzero exit, and nothing written")
    func commandLine() throws {
        try CLI.withFolder { cli in
            _ = try cli.writeModel()
            _ = try cli.writeImage("ok.png")
            let cut = try Data(contentsOf: URL(fileURLWithPath: try cli.writeModel("cut.safetensors")))
            try cut.prefix(cut.count / 2).write(to: cli.folder.appendingPathComponent("cut.safetensors"))
            _ = try Broken.model(cli, "nan.safetensors", key: "0.mlp.fc2.weight", index: 0, value: .nan)
            _ = try Broken.write(Broken.pngHeader(width: 60000, height: 60000), cli, "giant.png")
            _ = try Broken.write(Broken.pngHeader(width: 0, height: 16), cli, "zero.png")
            try Data("a file".utf8).write(to: cli.folder.appendingPathComponent("file.txt"))
            for (name, arguments, environment, expected) in Self.commandLines {
                let result = try cli.run(arguments, environment: environment)
                #expect(result.status != 0 && result.status < 128, "\(name): exit \(result.status)")
                #expect(!result.stderr.contains("Fatal error"), "\(name) trapped: \(result.stderr)")
                for words in expected {
                    #expect(result.stderr.contains(words), "\(name): '\(words)' missing from: \(result.stderr)")
                }
                let left = try cli.leftovers("out")
                #expect(left.isEmpty, "\(name) left \(left)")
            }
        }
    }

    @Test("CLI: a kernel that fails to build is reported with its build log; nothing is written")
    func kernelBuildFailure() throws {
        guard let device = Device.all.first(where: { $0 != .cpu }) else {
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "CI needs an OpenCL device")
            return
        }
        try CLI.withFolder { cli in
            let kernels = cli.folder.appendingPathComponent("kernels")
            try FileManager.default.createDirectory(at: kernels, withIntermediateDirectories: true)
            for name in KernelSources.all.keys {
                try Data("#error \(name) broken on purpose\n".utf8).write(to: kernels.appendingPathComponent(name + ".cl"))
            }
            _ = try cli.writeImage("ok.png")
            let result = try cli.run(["encode", "ok.png", "--model", try cli.writeModel(), "--out", "out"],
                                     environment: ["VITREOUS_KERNEL_DIR": kernels.path, "VITREOUS_KERNEL_CACHE": "off",
                                                   "VITREOUS_DEVICE": device.description])
            #expect(result.status != 0 && result.status < 128, "exit \(result.status)")
            #expect(result.stderr.contains("failed to build") && result.stderr.contains("broken on purpose"),
                    "\(result.stderr)")
            #expect(try cli.leftovers("out").isEmpty)
        }
    }

    @Test("a write that fails at the rename leaves neither the file nor a temporary one")
    func failedRename() throws {
        try CLI.withFolder { cli in
            // A folder where the file should go: every byte is written, then the rename fails.
            let target = cli.folder.appendingPathComponent("features.safetensors")
            try FileManager.default.createDirectory(at: target.appendingPathComponent("inside"),
                                                    withIntermediateDirectories: true)
            var writer = SafetensorsWriter()
            try writer.add("x", [1, 2, 3], shape: [3])
            let modelError = errorDescription { try writer.write(to: target) }
            #expect(modelError.contains("features.safetensors"), "\(modelError)")
            let pngTarget = cli.folder.appendingPathComponent("map.png")
            try FileManager.default.createDirectory(at: pngTarget.appendingPathComponent("inside"),
                                                    withIntermediateDirectories: true)
            let image = try Image(width: 2, height: 2, channels: 3, pixels: [Float](repeating: 0.5, count: 12))
            let pngError = errorDescription { try PNG.write(image, to: pngTarget.path) }
            #expect(pngError.contains("map.png"), "\(pngError)")
            let names = try FileManager.default.contentsOfDirectory(atPath: cli.folder.path).sorted()
            #expect(names == ["features.safetensors", "map.png"], "temporary files left: \(names)")
        }
    }
}

extension CLI {
    /// Files under `folder` (relative to the CLI's folder), hidden temporary files included; empty when
    /// the folder does not exist.
    func leftovers(_ folder: String) throws -> [String] {
        let url = self.folder.appendingPathComponent(folder)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return FileManager.default.enumerator(atPath: url.path)?.compactMap { $0 as? String } ?? []
    }
}

/// The text of the error `body` throws, or "" when it throws none.
private func errorDescription(_ body: () throws -> Void) -> String {
    do {
        try body()
        return ""
    } catch {
        return String(describing: error)
    }
}
