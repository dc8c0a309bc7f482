import Foundation
import Testing

@Suite("Documentation")
struct ReadmeExampleTests {
    @Test("README.md shows each example target's source verbatim, so its examples compile",
          arguments: ["Examples/TensorExample/main.swift", "Examples/EncoderExample/main.swift"])
    func readmeExampleIsTheBuiltExample(path: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        #expect(readme.contains("```swift\n" + example + "```"))
    }
}
