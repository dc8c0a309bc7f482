import Foundation
import Testing
import VitreousImage
import VitreousModel

/// Every command on a DINOv3 model: the family comes from the keys, --size N means DINOv3's whole-image resize.
@Suite("vitreous command line on DINOv3", .serialized)
struct DINOv3CommandTests {
    /// A random DINOv3 model (D 64, 2 blocks, 4 heads of 16, 4 storage tokens, patch 16) in the Hugging Face
    /// DINOv3 layout; the head count travels in the file's metadata.
    static func writeModel(_ cli: CLI) throws -> String {
        let config = ViTConfig(patchSize: 16, hiddenSize: 64, depth: 2, heads: 4, mlpHiddenSize: 128,
                               registerCount: 4, positionGrid: 14, layerNormEps: 1e-5, family: .dinov3)
        let url = cli.folder.appendingPathComponent("dinov3.safetensors")
        try ViTHostWeights.random(config: config, seed: 5).write(to: url, layout: .dinov3HuggingFace)
        return url.path
    }

    @Test("encode, norms, attention, pca, repair (detect, inpaint, ttr with the neuron search) and dataset mode")
    func everyCommand() throws {
        try CLI.withFolder { cli in
            let model = try Self.writeModel(cli)
            let image = try cli.writeImage("images/a.png", width: 90, height: 70)
            _ = try cli.writeImage("images/b.png", width: 50, height: 80)

            // --size 64: the whole 90×70 image stretched to 64×64 (no crop), a 4×4 grid.
            let encode = try cli.run("encode", image, "--model", model, "--size", "64", "--out", "features",
                                     "--layers", "0,2")
            #expect(encode.status == 0, "\(encode.stderr)")
            let features = try SafetensorsFile(cli.folder.appendingPathComponent("features/a.safetensors"))
            #expect(try features.info("patches").shape == [4, 4, 64])
            #expect(try features.info("registers").shape == [4, 64])
            #expect(try features.info("hidden.2").shape == [1 + 4 + 16, 64])
            let rectangular = try cli.run("encode", image, "--model", model, "--size", "80x48", "--out", "rect")
            #expect(rectangular.status == 0, "\(rectangular.stderr)")
            #expect(try SafetensorsFile(cli.folder.appendingPathComponent("rect/a.safetensors")).info("patches").shape
                == [3, 5, 64])
            let odd = try cli.run("encode", image, "--model", model, "--size", "56", "--out", "odd")
            #expect(odd.status != 0 && odd.stderr.contains("multiple of 16"), "\(odd.stderr)")

            let norms = try cli.run("norms", image, "--model", model, "--size", "64", "--out", "norms")
            #expect(norms.status == 0 && norms.stdout.contains("max/median"), "\(norms.stderr)")
            try expectFigure(cli.folder.appendingPathComponent("norms/a.norms.layer-2.png").path, minimumWidth: 320)
            let attention = try cli.run("attention", image, "--model", model, "--size", "64", "--out", "maps")
            #expect(attention.status == 0, "\(attention.stderr)")
            try expectFigure(cli.folder.appendingPathComponent("maps/a.attention.mean.png").path, minimumWidth: 320)
            let pca = try cli.run("pca", "images/a.png", "images/b.png", "--model", model, "--size", "64", "--out", "pca")
            #expect(pca.status == 0, "\(pca.stderr)")

            for method in ["detect", "inpaint"] {
                let repair = try cli.run("repair", image, "--model", model, "--size", "64", "--method", method,
                                         "--out", method)
                #expect(repair.status == 0, "\(method): \(repair.stderr)")
            }
            // A random model has no artifacts of its own: the norm threshold flags the patches the search explains.
            let ttr = try cli.run("repair", image, "--model", model, "--size", "64", "--method", "ttr",
                                  "--find-neurons", "images", "--threshold", "1", "--top-k", "2", "--out", "ttr", "--report")
            #expect(ttr.status == 0, "\(ttr.stderr)")
            #expect(ttr.stdout.contains("register neurons from 2 of 2 images"), "\(ttr.stdout)")
            #expect(FileManager.default.fileExists(atPath: cli.folder.appendingPathComponent("ttr/neurons.json").path))
            #expect(FileManager.default.fileExists(atPath: cli.folder.appendingPathComponent("ttr/repair-report.json").path))

            let dataset = try cli.run("encode", "images", "--model", model, "--size", "64", "--out", "dataset",
                                      "--dataset", "--batch", "2")
            #expect(dataset.status == 0, "\(dataset.stderr)")
            let run = try String(contentsOf: cli.folder.appendingPathComponent("dataset/run.json"), encoding: .utf8)
            #expect(run.contains("dinov3") && run.contains("bilinear"), "\(run)")
        }
    }
}
