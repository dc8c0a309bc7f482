import Testing

/// The entry point of each CMake-built test executable (SwiftPM generates its own): Swift Testing finds the
/// suites linked into the executable and takes the same arguments as `swift test` (`--filter`, ...).
@main
struct TestMain {
    static func main() async {
        await Testing.__swiftPMEntryPoint() as Never
    }
}
