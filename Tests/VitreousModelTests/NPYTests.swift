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

    /// numpy writes a transposed array in Fortran order; it must read as the same array numpy saves in C order.
    @Test("Fortran-ordered files from np.save read as numpy's C-order copy", arguments: ["f32_2x3x4", "f64_3x5"])
    func fortranOrder(name: String) throws {
        let fortran = try NPYArray(contentsOf: Fixtures.url("npy/\(name)_fortran.npy"))
        let reference = try NPYArray(contentsOf: Fixtures.url("npy/\(name)_c.npy"))
        #expect(fortran.shape == reference.shape && fortran.dtype == reference.dtype)
        #expect(fortran.doubles == reference.doubles)
        // The fixture is not symmetric: reading the bytes as row-major would differ.
        #expect(Set(fortran.doubles).count == fortran.doubles.count)
        let raw = try Data(contentsOf: Fixtures.url("npy/\(name)_fortran.npy"))
        #expect(raw.range(of: Data("'fortran_order': True".utf8)) != nil)
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
            (npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: [0, 0, 0, 0]),
             "needs 8 data bytes, the file holds 4"),
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
