import Foundation
import FuzzDriver
import FuzzImageDecoding

// WebP files (the seeds in Fuzz/Corpus/FuzzWebP) through fuzzImageDecoding: the format is told by content, so
// the mutations that keep the signature reach the WebP decoder.

@main
enum Harness {
    static func main() { exit(vitreous_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzImageDecoding)) }
}
