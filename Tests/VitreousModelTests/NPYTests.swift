import Foundation
import Testing
import VitreousModel

@Suite(".npy")
struct NPYTests {
    @Test("the fixtures read with their documented shapes")
    func fixtures() throws {
        let input = try NPYArray(contentsOf: Fixtures.url("inputs/tiny84x112.npy"))
        #expect(input.shape == [1, 3, 84, 112])
        #expect(input.dtype == .float32)
        #expect(input.floats.count == 3 * 84 * 112)
        #expect(input.floats.allSatisfy { $0.isFinite && abs($0) < 3 })
        let norms = try NPYArray(contentsOf: Fixtures.url("tiny_reg4/tiny56/token_norms.npy"))
        #expect(norms.shape == [4, 2, 21])
    }

    @Test("float32 and float64 arrays round-trip exactly", arguments: [[], [5], [2, 3], [1, 2, 1, 3]])
    func roundTrip(shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let floats = (0..<count).map { Float($0) * 0.37 - 1 }
        let doubles = (0..<count).map { Double($0) * 0.1 + 1e-300 }
        try withTemporaryFolder { folder in
            let a = folder.appendingPathComponent("a.npy"), b = folder.appendingPathComponent("b.npy")
            try NPYArray(floats, shape: shape).write(to: a)
            try NPYArray(doubles, shape: shape).write(to: b)
            let readFloats = try NPYArray(contentsOf: a), readDoubles = try NPYArray(contentsOf: b)
            #expect(readFloats == (try NPYArray(floats, shape: shape)))
            #expect(readFloats.dtype == .float32 && readFloats.shape == shape)
            #expect(readDoubles.doubles == doubles && readDoubles.dtype == .float64 && readDoubles.shape == shape)
            #expect(readDoubles.floats == doubles.map(Float.init))
            // NumPy's layout: the data starts on a 64-byte boundary.
            let size = try Data(contentsOf: a).count
            #expect((size - count * 4) % 64 == 0)
        }
    }

    /// A version 1.0 file with the given header dict and data bytes.
    private func npy(_ dict: String, data: [UInt8]) -> Data {
        let header = dict + "\n"
        return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
            + Array(header.utf8) + data)
    }

    @Test("unsupported or malformed files are refused with the reason")
    func errors() throws {
        let cases: [(Data, String)] = [
            (Data("hello world".utf8), "no \\x93NUMPY magic"),
            (npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]),
             "dtype '<i4' is not supported"),
            (npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]),
             "dtype '>f4' is not supported"),
            (npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", data: [0, 0, 0, 0]),
             "Fortran-ordered arrays are not supported"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: [0, 0, 0, 0]),
             "needs 12 data bytes, the file holds 4"),
            (npy("{'descr': '<f4', 'fortran_order': False}", data: []), "the header has no 'shape'"),
        ]
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("bad.npy")
            for (bytes, message) in cases {
                try bytes.write(to: url)
                let text = errorText { _ = try NPYArray(contentsOf: url) }
                #expect(text.contains(message) && text.hasPrefix(url.path), "\(text)")
            }
        }
        #expect(errorText { _ = try NPYArray([1, 2] as [Float], shape: [3]) }.contains("cannot fill shape [3]"))
    }
}
