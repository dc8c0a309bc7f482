import Foundation

/// A plain-text table of benchmark results, columns padded to their widest cell.
enum Table {
    static func render(_ results: [BenchmarkResult]) -> String {
        let header = ["device", "benchmark", "shape", "median ms", "min ms", "max ms", "rate", "% ceiling", "% peak", "verify", "new buffers"]
        let rows = results.map { result -> [String] in
            [result.device, result.name, result.shape,
             String(format: "%.3f", result.timing.median * 1e3), String(format: "%.3f", result.timing.min * 1e3),
             String(format: "%.3f", result.timing.max * 1e3),
             String(format: "%.1f %@", result.rate, result.unit),
             result.percentOfCeiling.map { String(format: "%.0f %%", $0) } ?? "",
             result.percentOfPeak.map { String(format: "%.1f %%", $0) } ?? "",
             result.verifyError.map { String(format: "%.1e", $0) } ?? "",
             result.newBuffersPerRun.map(String.init) ?? ""]
        }
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
            + rows.map(line)).joined(separator: "\n")
    }
}
