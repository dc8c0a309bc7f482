import Foundation
import Testing

@Suite("Documentation")
struct ReadmeExampleTests {
    @Test("README.md shows Examples/TensorExample/main.swift verbatim, so its example compiles")
    func readmeExampleIsTheBuiltExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(contentsOf: root.appendingPathComponent("Examples/TensorExample/main.swift"),
                                 encoding: .utf8)
        #expect(readme.contains("```swift\n" + example + "```"))
    }
}
