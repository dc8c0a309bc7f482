import Foundation
import FuzzDriver
import FuzzImageDecoding

// JPEG files (the seeds in Fuzz/Corpus/FuzzJPEG) through fuzzImageDecoding: the format is told by content, so
// the mutations that keep the signature reach the JPEG decoder.

@main
enum Harness {
    static func main() { exit(vitreous_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzImageDecoding)) }
}
