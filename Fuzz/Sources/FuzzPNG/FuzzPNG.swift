import Foundation
import FuzzDriver
import VitreousImage

// The bytes are a PNG file, decoded from memory as PNG.read decodes a file's contents. The pixel limit is
// lowered so that one execution allocates at most a few tens of megabytes: the limit check itself is the
// same code at any value.

@main
enum Harness {
    static func main() { exit(vitreous_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzPNG)) }
}

/// One execution: libFuzzer's `LLVMFuzzerTestOneInput`.
private func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Data(bytes: data, count: size)
    guard let image = try? PNG.decode(bytes, name: "fuzz.png", maximumPixels: 1 << 20) else { return 0 }
    precondition(image.channels == 3 && image.width > 0 && image.height > 0, "decoded \(image)")
    precondition(image.pixels.count == image.width * image.height * 3, "pixel count")
    precondition(image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 }, "sample outside 0…1")
    return 0
}
