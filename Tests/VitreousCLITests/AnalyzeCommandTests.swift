import Foundation
import Testing
import VitreousImage

/// `vitreous analyze` end to end on a small random model: its files, its numbers' shape, its one-line errors.
@Suite("vitreous analyze", .serialized)
struct AnalyzeCommandTests {
    /// Two classes of three 56×56 images each (4×4 patches) with masks of the same names.
    static func writeClasses(_ cli: CLI, maskSize: Int = 56) throws {
        for (c, name) in ["a", "b"].enumerated() {
            for i in 0..<3 {
                let pixels = (0..<(56 * 56 * 3)).map { Float((($0 + 37 * i) * (7919 + 104 * c)) % 256) / 255 }
                let path = cli.folder.appendingPathComponent("classes/\(name)/\(i).png").path
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try PNG.write(try Image(width: 56, height: 56, channels: 3, pixels: pixels), to: path)
                let mask = (0..<(maskSize * maskSize)).map { Float(($0 % maskSize) < maskSize / 2 ? 1 : 0) }
                let maskPath = cli.folder.appendingPathComponent("masks/\(name)/\(i).png").path
                try FileManager.default.createDirectory(atPath: (maskPath as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try PNG.write(try Image(width: maskSize, height: maskSize, channels: 1, pixels: mask), to: maskPath)
            }
        }
    }

    @Test("writes analysis.json with every measure per layer, the CSVs and the figures")
    func fullRun() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try Self.writeClasses(cli)
            let result = try cli.run("analyze", "classes", "--model", model, "--size", "56", "--masks", "masks",
                                     "--k", "3", "--cka-minibatch", "4", "--batch", "4", "--out", "out")
            #expect(result.status == 0, "\(result.stderr)")
            let out = cli.folder.appendingPathComponent("out")
            for file in ["analysis.json", "attention-distance.csv", "entropy.csv", "cka-cls.csv", "frequency.csv",
                         "classification.csv", "segmentation.csv", "attention-distance.png", "cka.png", "accuracy.png",
                         "frequency.png", "segmentation-overlays.png"] {
                #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
            }
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("analysis.json")))
                as? [String: Any])
            #expect(json["images"] as? Int == 6)
            #expect((json["model_sha256"] as? String)?.count == 64)
            let results = try #require(json["results"] as? [String: Any])
            let distance = try #require((results["attention-distance"] as? [String: Any])?["per_block_per_head"] as? [[Double]])
            #expect(distance.count == 2 && distance.allSatisfy { $0.count == 1 })
            // A 4×4 grid of 14-pixel patches: every mean distance lies between 0 and the diagonal.
            #expect(distance.joined().allSatisfy { $0 > 0 && $0 < 14 * 3 * 2.0.squareRoot() })
            let cka = try #require((results["cka"] as? [String: Any])?["mean-patch"] as? [[Any]])
            #expect(cka.count == 3 && (cka[1][1] as? Double).map { abs($0 - 1) < 1e-6 } == true)
            let accuracy = try #require((results["classification"] as? [String: Any])?["mean-patch"] as? [String: Any])
            #expect((accuracy["ncc"] as? [Double])?.count == 3 && (accuracy["knn_top1"] as? [Double])?.count == 3)
        }
    }

    @Test("bad input is one clear line: k too large, a class with one image, labels naming missing files, masks of the wrong size")
    func badInput() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try Self.writeClasses(cli, maskSize: 40)
            func failure(_ arguments: [String]) throws -> String {
                let result = try cli.run(["analyze"] + arguments + ["--model", model, "--size", "56", "--out", "out"])
                #expect(result.status == 1, "\(arguments): \(result.stderr)")
                return result.stderr
            }
            #expect(try failure(["classes"]).contains("--k 20 is larger than the 5 training images"))
            let masks = try failure(["classes", "--k", "2", "--masks", "masks", "--metrics", "segmentation"])
            #expect(masks.contains("the mask is 40×40") && masks.contains("is 56×56"), "\(masks)")
            try "path,label\nclasses/a/0.png,a\nclasses/a/9.png,b\n".write(to: cli.folder.appendingPathComponent("labels.csv"),
                                                                           atomically: true, encoding: .utf8)
            let missing = try failure(["classes/a/0.png", "--labels", "labels.csv"])
            #expect(missing.contains("labels.csv line 3: classes/a/9.png is not among the input images"), "\(missing)")
            try "path,label\nclasses/a/0.png,a\nclasses/a/1.png,a\nclasses/a/2.png,b\n"
                .write(to: cli.folder.appendingPathComponent("labels.csv"), atomically: true, encoding: .utf8)
            let single = try failure(["classes/a", "--labels", "labels.csv", "--k", "1"])
            #expect(single.contains("class 'b' has 1 training image; every class needs at least 2"), "\(single)")
        }
    }
}
