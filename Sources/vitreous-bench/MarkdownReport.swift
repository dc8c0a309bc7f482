import Foundation

/// Markdown renderings of results: one table of every row, and for each accelerator the encoder rows
/// against the same rows of the CPU backend (images/s ratio). `--report` builds it from saved `--json` files.
enum MarkdownReport {
    static func table(_ results: [BenchmarkResult]) -> String {
        let header = ["device", "benchmark", "shape", "median ms", "rate", "% ceiling", "% peak", "verify"]
        let rows = results.map { result -> [String] in
            [result.device, result.name, result.shape, String(format: "%.3f", result.timing.median * 1e3),
             String(format: "%.1f %@", result.rate, result.unit),
             result.percentOfCeiling.map { String(format: "%.0f %%", $0) } ?? "",
             result.percentOfPeak.map { String(format: "%.1f %%", $0) } ?? "",
             result.verifyError.map { String(format: "%.1e", $0) } ?? ""]
        }
        return render(header: header, rows: rows)
    }

    /// Encoder rows of every non-CPU device next to the CPU backend's row of the same name.
    static func encoderRatios(_ results: [BenchmarkResult]) -> String {
        let encoders = results.filter { $0.name.hasPrefix("encoder ") && !$0.name.hasSuffix("+repair") }
        let cpu = Dictionary(encoders.filter { $0.device == "cpu" }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = encoders.filter { $0.device != "cpu" }.map { row -> [String] in
            let images = imagesPerSecond(row)
            let cpuImages = cpu[row.name].map(imagesPerSecond)
            return [row.device, row.name, String(format: "%.2f", images), cpuImages.map { String(format: "%.2f", $0) } ?? "",
                    cpuImages.map { String(format: "%.2f×", images / $0) } ?? ""]
        }
        guard !rows.isEmpty else { return "" }
        return render(header: ["device", "encoder", "images/s", "CPU backend images/s", "ratio"], rows: rows)
    }

    /// The batch size is the last word of an encoder row's name (`encoder vit-s 224px b8`).
    static func imagesPerSecond(_ row: BenchmarkResult) -> Double {
        let batch = row.name.split(separator: " ").last.flatMap { Int($0.dropFirst()) } ?? 1
        return Double(batch) / row.timing.median
    }

    static func render(header: [String], rows: [[String]]) -> String {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
        }
        return ([line(header), line(header.map { _ in "---" })] + rows.map(line)).joined(separator: "\n")
    }

    /// The report of saved `--json` outputs: every row, then the encoder ratios.
    static func fromFiles(_ paths: [String]) throws -> String {
        var results: [BenchmarkResult] = []
        for path in paths {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw BenchmarkOptionError("--report: cannot read \(path): \(error.localizedDescription)")
            }
            do {
                results += try JSONDecoder().decode([BenchmarkResult].self, from: data)
            } catch {
                throw BenchmarkOptionError("--report: \(path) is not vitreous-bench --json output: \(error)")
            }
        }
        let ratios = encoderRatios(results)
        return table(results) + (ratios.isEmpty ? "" : "\n\nEncoders against the CPU backend:\n\n" + ratios)
            + "\n\n" + verdict(results)
    }

    /// The bound on every `--verify` error: float32 kernels against the float64 reference measure about 1e-6,
    /// a 12-block encoder against the CPU backend about 1e-5; 1e-3 leaves room for a driver's fast math.
    static let verifyBound = 1e-3

    /// One line that scripts grep for: `verify: ok ...` or `verify: FAILED ...` with the rows out of bounds.
    static func verdict(_ results: [BenchmarkResult]) -> String {
        let checked = results.filter { $0.verifyError != nil }
        let failed = checked.filter { !(($0.verifyError ?? .nan) <= verifyBound) }  // NaN fails too
        if checked.isEmpty { return "verify: no row was checked" }
        if failed.isEmpty {
            return "verify: ok, \(checked.count) checked rows within \(verifyBound) relative L2 error"
        }
        return "verify: FAILED, \(failed.count) of \(checked.count) rows above \(verifyBound): "
            + failed.map { "\($0.device) \($0.name) \(String(format: "%.2e", $0.verifyError ?? .nan))" }.joined(separator: "; ")
    }
}
