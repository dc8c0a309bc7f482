import Foundation
import Testing
@testable import VitreousModel
import VitreousTensor

@Suite("safetensors")
struct SafetensorsTests {
    @Test("what the writer writes, the reader reads back exactly")
    func roundTrip() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("round.safetensors")
            var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "quote \" and \\ and\nnewline"])
            let matrix: [Float] = [1.5, -2, 0, .infinity, -0.0, .leastNonzeroMagnitude]
            try writer.add("b.matrix", matrix, shape: [2, 3])
            try writer.add("a.scalar", [42], shape: [])
            try writer.add("c.empty", [], shape: [0, 5])
            try writer.add("d.tensor", try Tensor([1, 2, 3, 4], shape: [4, 1], on: .cpu))
            try writer.write(to: url)

            let file = try SafetensorsFile(url)
            #expect(file.names == ["a.scalar", "b.matrix", "c.empty", "d.tensor"])
            #expect(file.metadata == writer.metadata)
            #expect(try file.info("b.matrix").shape == [2, 3])
            #expect(try file.info("b.matrix").dtype == .f32)
            #expect(try file.floats("b.matrix").map(\.bitPattern) == matrix.map(\.bitPattern))
            #expect(try file.floats("a.scalar") == [42])
            #expect(try file.floats("c.empty") == [])
            #expect(try file.info("c.empty").shape == [0, 5])
            let tensor = try file.tensor("d.tensor", on: .cpu)
            #expect(tensor.shape == [4, 1])
            #expect(try tensor.toArray() == [1, 2, 3, 4])

            // The header is padded so that the data (and every F32 tensor) starts 8-byte aligned.
            let bytes = try Data(contentsOf: url)
            let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            #expect((8 + headerLength) % 8 == 0)
            // Writing again replaces the file atomically and leaves no temporary file behind.
            try writer.write(to: url)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["round.safetensors"])
        }
    }

    @Test("the writer refuses what it cannot write")
    func writerErrors() throws {
        var writer = SafetensorsWriter()
        try writer.add("x", [1, 2], shape: [2])
        #expect(errorText { try writer.add("x", [1], shape: [1]) }.contains("already added"))
        #expect(errorText { try writer.add("y", [1, 2, 3], shape: [2]) }.contains("3 values cannot fill shape [2]"))
        #expect(errorText { try writer.add("__metadata__", [1], shape: [1]) }.contains("cannot name"))
        let nowhere = URL(fileURLWithPath: "/nonexistent-folder-\(UUID().uuidString)/x.safetensors")
        #expect(errorText { try writer.write(to: nowhere) }.contains("cannot create a temporary file"))
    }

    @Test("F16, BF16 and F64 are converted to Float exactly")
    func halfPrecision() throws {
        // F16: 1, -2, 65504 (largest), 2⁻²⁴ (smallest subnormal), 0.5, +inf, 2⁻¹⁴·(1023/1024) (largest subnormal)
        let half: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3800, 0x7C00, 0x03FF]
        let halfExpected: [Float] = [1, -2, 65504, 0x1p-24, 0.5, .infinity, 0x1p-14 * 1023 / 1024]
        // BF16: 1, -2, 3.140625, the smallest normal
        let brain: [UInt16] = [0x3F80, 0xC000, 0x4049, 0x0080]
        let brainExpected: [Float] = [1, -2, 3.140625, .leastNormalMagnitude]
        let double: [Double] = [0.1, -3.5, 1e300]
        var data: [UInt8] = []
        for value in half + brain { withUnsafeBytes(of: value.littleEndian) { data += $0 } }
        for value in double { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } }
        // Odd offsets on purpose: data need not be aligned (the F64 tensor starts at byte 22).
        let header = #"{"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},"#
            + #""b":{"dtype":"BF16","shape":[2,2],"data_offsets":[14,22]},"#
            + #""d":{"dtype":"F64","shape":[3],"data_offsets":[22,46]}}"#
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("half.safetensors")
            try handMadeSafetensors(header: header, data: data).write(to: url)
            let file = try SafetensorsFile(url)
            #expect(file.metadata.isEmpty)
            #expect(try file.floats("h") == halfExpected)
            #expect(try file.floats("b") == brainExpected)
            #expect(try file.floats("d") == [0.1, -3.5, .infinity])
            #expect(try file.info("b").shape == [2, 2])
            #expect(ElementDecoding.halfToFloat(0x7E00).isNaN)
            #expect(ElementDecoding.halfToFloat(0x8000).bitPattern == (-0.0 as Float).bitPattern)
        }
    }

    /// Each malformed file and the words its error must contain.
    static let malformed: [(name: String, bytes: Data, message: String)] = [
        ("truncated", Data([1, 2, 3, 4, 5]), "5 bytes long, shorter than the 8-byte header length"),
        ("empty", Data(), "0 bytes long"),
        ("length past the end", handMadeSafetensors(header: "{}", length: 1000),
         "header length 1000 runs past the end of the file (10 bytes)"),
        ("huge length", handMadeSafetensors(header: "{}", length: 1 << 40), "exceeds the limit of 100000000 bytes"),
        ("not JSON", handMadeSafetensors(header: "{\"a\": [1, 2"), "the header is not valid JSON"),
        ("not an object", handMadeSafetensors(header: "[1, 2]"), "the header is not a JSON object"),
        ("entry not an object", handMadeSafetensors(header: #"{"a": 3}"#), "entry 'a' is not a JSON object"),
        ("no dtype", handMadeSafetensors(header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         "entry 'a' has no dtype"),
        ("no shape", handMadeSafetensors(header: #"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
         "entry 'a' has no shape"),
        ("no offsets", handMadeSafetensors(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]),
         "entry 'a' has no data_offsets"),
        ("unknown dtype", handMadeSafetensors(header: #"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#,
                                              data: .init(repeating: 0, count: 16)),
         "entry 'a' has unknown dtype 'F128'"),
        ("negative extent", handMadeSafetensors(header: #"{"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,0]}}"#),
         "entry 'a' has a negative extent in shape [-1, 4]"),
        ("fractional extent", handMadeSafetensors(header: #"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}"#),
         "has a shape that is not a list of integers"),
        ("overflowing shape",
         handMadeSafetensors(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#),
         "too large to address"),
        ("end before begin", handMadeSafetensors(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#,
                                                 data: [0, 0, 0, 0]),
         "data_offsets [4, 0] whose end is before its begin"),
        ("offsets past the end", handMadeSafetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                                                     data: [0, 0, 0, 0]),
         "data_offsets [0, 8] past the end of the data section (4 bytes)"),
        ("overlap", handMadeSafetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
                                            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                                        data: .init(repeating: 0, count: 12)),
         "tensors 'a' (bytes 0..<8) and 'b' (bytes 4..<12) overlap"),
        ("size mismatch", handMadeSafetensors(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                                              data: .init(repeating: 0, count: 8)),
         "entry 'a' has shape [3] of F32, which needs 12 bytes, but data_offsets [0, 8] hold 8"),
        ("wrong dtype for the bytes", handMadeSafetensors(header: #"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#,
                                                          data: .init(repeating: 0, count: 8)),
         "entry 'a' has shape [2] of F16, which needs 4 bytes, but data_offsets [0, 8] hold 8"),
        ("metadata not strings", handMadeSafetensors(header: #"{"__metadata__":{"n":1}}"#),
         "__metadata__ value for 'n' is not a string"),
    ]

    @Test("a malformed file gives an error naming the file and the problem",
          arguments: malformed.indices)
    func malformedFile(index: Int) throws {
        let (name, bytes, message) = SafetensorsTests.malformed[index]
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("bad.safetensors")
            try bytes.write(to: url)
            let text = errorText { _ = try SafetensorsFile(url) }
            #expect(text.contains(message), "\(name): \(text)")
            #expect(text.hasPrefix(url.path + ": not a valid safetensors file: "), "\(name): \(text)")
        }
    }

    @Test("reading a tensor that is missing or not floating point is an error")
    func readErrors() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("ints.safetensors")
            try handMadeSafetensors(header: #"{"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#,
                                    data: [1, 0, 0, 0]).write(to: url)
            let file = try SafetensorsFile(url)
            #expect(try file.info("i").dtype == .i32)
            #expect(errorText { _ = try file.floats("i") }.contains("tensor 'i' has dtype I32; only F64, F32, F16 and BF16"))
            #expect(errorText { _ = try file.floats("nope") }.contains("has no tensor named 'nope'"))
            let missing = folder.appendingPathComponent("missing.safetensors")
            #expect(errorText { _ = try SafetensorsFile(missing) }.contains("\(missing.path): cannot open"))
            #expect(errorText { _ = try SafetensorsFile(folder) }.contains("not a regular file"))
        }
    }

    @Test("the reference fixtures open and hold F32 tensors of the documented shapes")
    func fixtureFiles() throws {
        let file = try SafetensorsFile(Fixtures.url("tiny/weights_orig.safetensors"))
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.info("blocks.0.attn.qkv.weight").shape == [192, 64])
        #expect(try file.info("patch_embed.proj.weight").shape == [64, 3, 14, 14])
        #expect(try file.floats("pos_embed").count == 17 * 64)
    }
}
