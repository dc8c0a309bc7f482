import Foundation
import Testing
import VitreousImage
import VitreousModel

/// The Pillow-made fixture images of VitreousImageTests (see its Fixtures/PROVENANCE.md).
enum SharedFixtures {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static func image(_ name: String) -> URL {
        tests.appendingPathComponent("VitreousImageTests/Fixtures/images/\(name)")
    }
    static let hfModel = tests.appendingPathComponent("VitreousModelTests/Fixtures/tiny/hf")
}

extension CLI {
    /// Copies a fixture image to `relative` (folders created).
    func copyFixture(_ name: String, to relative: String) throws {
        let target = folder.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: SharedFixtures.image(name), to: target)
    }

    func write(_ text: String, to relative: String) throws {
        let target = folder.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: target)
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: folder.appendingPathComponent(relative).path) }

    /// The JSON object a `--json` run printed last on stdout.
    func json(_ result: Result) throws -> [String: Any] {
        let line = try #require(result.stdout.split(separator: "\n").last, "no stdout: \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
    }

    /// Runs with `input` on stdin.
    func run(_ arguments: [String], stdin input: String) throws -> Result {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        environment["VITREOUS_DEVICE"] = "cpu"
        process.environment = environment
        let (inPipe, out, err) = (Pipe(), Pipe(), Pipe())
        process.standardInput = inPipe
        process.standardOutput = out
        process.standardError = err
        try process.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("command line inputs and outputs", .serialized)
struct InputOutputTests {
    /// photos/: nested folders, every format, a/a.PNG twins, a hidden file, a note and a broken "image".
    private func photoFolder(_ cli: CLI) throws {
        try cli.copyFixture("small.png", to: "photos/a.png")
        try cli.copyFixture("small-gray.png", to: "photos/a.PNG")
        try cli.copyFixture("photo-baseline.jpg", to: "photos/sub/b.jpg")
        try cli.copyFixture("photo-lossy.webp", to: "photos/sub/deeper/c.webp")
        try cli.copyFixture("photo-progressive.jpg", to: "photos/sub/no-extension")
        try cli.copyFixture("tall.png", to: "photos/.hidden.png")
        try cli.copyFixture("tall.png", to: "photos/.cache/d.png")
        try cli.write("notes", to: "photos/README.txt")
    }

    @Test("folders are searched recursively in sorted order; outputs mirror them and never collide")
    func recursiveMirrored() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try photoFolder(cli)
            let result = try cli.run(["encode", "photos", "--model", model, "--out", "out", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let summary = try cli.json(result)
            #expect(summary["images"] as? Int == 5)
            #expect(summary["not_images"] as? [String] == ["photos/README.txt"])
            for name in ["out/a.png.safetensors", "out/a.PNG.safetensors", "out/sub/b.safetensors",
                         "out/sub/deeper/c.safetensors", "out/sub/no-extension.safetensors"] {
                #expect(cli.exists(name), "\(name)")
            }
            #expect(!cli.exists("out/.hidden.safetensors") && !cli.exists("out/.cache"), "hidden inputs are skipped")
            // The twins hold different images, so their features differ.
            let a = try SafetensorsFile(cli.folder.appendingPathComponent("out/a.png.safetensors"))
            let twin = try SafetensorsFile(cli.folder.appendingPathComponent("out/a.PNG.safetensors"))
            #expect(try a.floats("cls") != twin.floats("cls"))

            // A symbolic link back up the tree is not followed forever.
            try FileManager.default.createSymbolicLink(atPath: cli.folder.appendingPathComponent("photos/sub/loop").path,
                                                       withDestinationPath: "..")
            let looped = try cli.run(["encode", "photos", "--model", model, "--out", "looped", "--json"])
            #expect(looped.status == 0, "\(looped.stderr)")
            #expect(try cli.json(looped)["images"] as? Int == 5)

            let flat = try cli.run(["encode", "photos", "--model", model, "--out", "flat", "--no-recursive", "--json"])
            #expect(flat.status == 0, "\(flat.stderr)")
            #expect(try cli.json(flat)["images"] as? Int == 2)
            #expect(!cli.exists("flat/sub"))

            let text = try cli.run(["encode", "photos", "--model", model, "--out", "text"])
            #expect(text.stdout.contains("skipped 1 file that is not PNG, JPEG or WebP"), "\(text.stdout)")
        }
    }

    @Test("many files and globs, --files-from a list and from stdin")
    func manyInputs() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try photoFolder(cli)
            let many = try cli.run(["encode", "photos/sub/b.jpg", "photos/sub/deeper/c.webp", "photos/a.png",
                                    "--model", model, "--out", "many", "--json"])
            #expect(many.status == 0, "\(many.stderr)")
            #expect(try cli.json(many)["images"] as? Int == 3)
            #expect(cli.exists("many/b.safetensors") && cli.exists("many/c.safetensors") && cli.exists("many/a.safetensors"))

            try cli.write("photos/sub/b.jpg\n\nphotos/sub/deeper\n", to: "list.txt")
            let listed = try cli.run(["encode", "--files-from", "list.txt", "--model", model, "--out", "listed", "--json"])
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(try cli.json(listed)["images"] as? Int == 2)
            let piped = try cli.run(["encode", "--files-from", "-", "--model", model, "--out", "piped", "--json"],
                                    stdin: "photos/a.png\nphotos/a.PNG\n")
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(cli.exists("piped/a.png.safetensors") && cli.exists("piped/a.PNG.safetensors"))
            let none = try cli.run(["encode", "--model", model])
            #expect(none.status != 0 && none.stderr.contains("name at least one image or folder"), "\(none.stderr)")
        }
    }

    @Test("existing outputs: an error by default, --skip-existing skips, --overwrite replaces")
    func existingOutputs() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try cli.copyFixture("small.png", to: "in/a.png")
            try cli.copyFixture("wide.jpg", to: "in/b.jpg")
            #expect(try cli.run(["encode", "in", "--model", model, "--out", "out"]).status == 0)
            let again = try cli.run(["encode", "in", "--model", model, "--out", "out"])
            #expect(again.status != 0 && again.stderr.contains("out/a.safetensors exists"), "\(again.stderr)")
            try FileManager.default.removeItem(at: cli.folder.appendingPathComponent("out/b.safetensors"))
            let skip = try cli.run(["encode", "in", "--model", model, "--out", "out", "--skip-existing", "--json"])
            #expect(skip.status == 0, "\(skip.stderr)")
            let summary = try cli.json(skip)
            #expect(summary["images"] as? Int == 1 && summary["skipped_existing"] as? Int == 1, "\(summary)")
            let overwrite = try cli.run(["encode", "in", "--model", model, "--out", "out", "--overwrite", "--json"])
            let replaced = try cli.json(overwrite)["images"] as? Int
            #expect(overwrite.status == 0 && replaced == 2, "\(overwrite.stderr)")
            let both = try cli.run(["encode", "in", "--model", model, "--overwrite", "--skip-existing"])
            #expect(both.status != 0 && both.stderr.contains("exclude each other"))
            for command in ["attention", "norms"] {
                #expect(try cli.run([command, "in", "--model", model, "--out", command]).status == 0)
                let rerun = try cli.run([command, "in", "--model", model, "--out", command])
                #expect(rerun.status != 0 && rerun.stderr.contains("exists"), "\(command): \(rerun.stderr)")
            }
        }
    }

    @Test("bad files in a folder: one line each, the others processed, listed in the JSON, exit 1")
    func badFilesInFolder() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try cli.copyFixture("small.png", to: "in/good.png")
            let jpeg = try Data(contentsOf: SharedFixtures.image("photo-baseline.jpg"))
            try Data().write(to: cli.folder.appendingPathComponent("in/empty.jpg"))
            try jpeg.prefix(jpeg.count / 3).write(to: cli.folder.appendingPathComponent("in/truncated.jpg"))
            try cli.write("<html>", to: "in/mislabelled.webp")
            for command in ["encode", "attention", "norms", "repair"] {
                let result = try cli.run([command, "in", "--model", model, "--out", command, "--json"])
                #expect(result.status == 1, "\(command): \(result.stderr)")
                let summary = try cli.json(result)
                #expect(summary["images"] as? Int == 1, "\(command): \(summary)")
                let failed = try #require(summary["failed"] as? [[String: String]])
                #expect(failed.map { $0["path"] ?? "" } == ["in/empty.jpg", "in/mislabelled.webp", "in/truncated.jpg"])
                for (name, problem) in [("empty.jpg", "the file is empty"), ("mislabelled.webp", "not a PNG, JPEG or WebP"),
                                        ("truncated.jpg", "cannot decode JPEG")] {
                    #expect(result.stderr.contains("error: in/\(name): \(problem)"), "\(command): \(result.stderr)")
                }
            }
        }
    }

    @Test("EXIF orientation is ignored by default and applied with --exif-orientation")
    func exifOrientation() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try cli.copyFixture("photo-exif6.jpg", to: "turned.jpg")  // 97×61, orientation 6
            #expect(try cli.run(["encode", "turned.jpg", "--model", model, "--size", "auto", "--out", "plain"]).status == 0)
            #expect(try cli.run(["encode", "turned.jpg", "--model", model, "--size", "auto", "--out", "upright",
                                 "--exif-orientation"]).status == 0)
            let plain = try SafetensorsFile(cli.folder.appendingPathComponent("plain/turned.safetensors"))
            let upright = try SafetensorsFile(cli.folder.appendingPathComponent("upright/turned.safetensors"))
            #expect(try plain.info("patches").shape == [4, 7, 64])
            #expect(try upright.info("patches").shape == [7, 4, 64])
        }
    }
}
