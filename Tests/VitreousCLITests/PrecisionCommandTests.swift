import Foundation
import Testing
import VitreousModel
import VitreousTensor

/// `--precision` on the command line: bf16 features stay within bf16's rounding of fp32's, a dataset folder
/// refuses to mix precisions, and a precision the device lacks or an unknown one is a one-line error.
@Suite("vitreous --precision", .serialized)
struct PrecisionCommandTests {
    @Test("encode --precision bf16 is near fp32; bad values are one-line errors; devices reports bf16")
    func encode() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let image = try cli.writeImage("a.png")
            for precision in ["fp32", "bf16"] {
                let run = try cli.run("encode", image, "--model", model, "--size", "56", "--precision", precision,
                                      "--out", precision)
                #expect(run.status == 0, "\(precision): \(run.stderr)")
            }
            let read = { (folder: String) in
                try SafetensorsFile(cli.folder.appendingPathComponent("\(folder)/a.safetensors")).floats("cls")
            }
            let (fp32, bf16) = (try read("fp32"), try read("bf16"))
            let difference = zip(fp32, bf16).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
            let scale = fp32.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            #expect(difference / scale <= 2e-2 && difference > 0, "bf16 CLS differs from fp32 by \(difference / scale)")

            for (value, message) in [("fp16", "--precision fp16"), ("int4", "--precision int4")] {
                let bad = try cli.run("encode", image, "--model", model, "--precision", value, "--out", "bad")
                #expect(bad.status == 1, "\(value): \(bad.stderr)")
                #expect(bad.stderr.contains(message), "\(value): \(bad.stderr)")
                #expect(bad.stderr.split(separator: "\n").count == 1, "\(value): \(bad.stderr)")
            }
            let devices = try cli.run("devices", "--json")
            #expect(devices.stdout.contains(Precision.cpuHasNativeBF16 ? "\"cpu_bf16\":\"native\"" : "\"cpu_bf16\":\"emulated\""),
                    "\(devices.stdout)")
        }
    }

    @Test("a dataset folder written in bf16 refuses an fp32 run")
    func datasetRecordsPrecision() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            _ = try cli.writeImage("images/a.png")
            let first = try cli.run("encode", "images", "--model", model, "--size", "56", "--dataset", "--precision",
                                    "bf16", "--out", "set")
            #expect(first.status == 0, "\(first.stderr)")
            let run = try String(contentsOf: cli.folder.appendingPathComponent("set/run.json"), encoding: .utf8)
            #expect(run.contains("\"precision\" : \"bf16\""), "\(run)")
            let mixed = try cli.run("encode", "images", "--model", model, "--size", "56", "--dataset", "--out", "set")
            #expect(mixed.status == 1, "\(mixed.stderr)")
        }
    }
}
