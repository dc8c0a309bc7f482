import Foundation
import VitreousTensor

/// The classes of the inputs for `analyze` and which images are training and which validation images.
struct AnalyzeLabels {
    /// Class names, sorted; labels index into them.
    let classes: [String]
    /// Per input (in input order): its class index.
    let labels: [Int]
    /// Per input: true for a validation image. All false without a split (then NCC is measured on the
    /// training images and k-NN leaves each image out of its own neighbours).
    let validation: [Bool]

    var hasSplit: Bool { validation.contains(true) }

    /// Labels from `--labels CSV` (columns path,label and any others; a header row naming `path` and
    /// `label`) or from one sub-folder per class; nil when neither gives any.
    static func resolve(_ images: [InputImage], csv: String?, split: String?, seed: UInt64) throws -> AnalyzeLabels? {
        var names: [String?]
        var columns: [String: [String?]] = [:]
        if let csv {
            (names, columns) = try fromCSV(csv, images)
        } else {
            names = images.map { image in
                let parts = image.relative.split(separator: "/")
                return parts.count >= 2 ? String(parts[0]) : nil
            }
            guard names.contains(where: { $0 != nil }) else { return nil }
        }
        if let missing = images.indices.first(where: { names[$0] == nil }) {
            throw CLIError("\(images[missing].path): no label (" + (csv.map { "not in \($0)" }
                ?? "not in a class sub-folder; put every image in one, or give --labels CSV") + ")")
        }
        let classes = Set(names.compactMap { $0 }).sorted()
        guard classes.count >= 2 else {
            throw CLIError("labels: only one class (\(classes.first ?? "")); NCC and k-NN need at least two")
        }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let labels = names.map { index[$0 ?? ""] ?? 0 }
        let validation = try splitImages(images, split: split, columns: columns, seed: seed)
        for (c, name) in classes.enumerated() {
            let count = zip(labels, validation).filter { $0.0 == c && !$0.1 }.count
            if count < 2 {
                throw CLIError("class '\(name)' has \(count) training image\(count == 1 ? "" : "s"); every class needs at least 2")
            }
        }
        return AnalyzeLabels(classes: classes, labels: labels, validation: validation)
    }

    /// `--split COLUMN` (values train / val) or `--split FRACTION` (that share of each class to validation,
    /// chosen with `seed`).
    private static func splitImages(_ images: [InputImage], split: String?, columns: [String: [String?]],
                                    seed: UInt64) throws -> [Bool] {
        guard let split else { return Array(repeating: false, count: images.count) }
        if let fraction = Double(split) {
            guard fraction > 0, fraction < 1 else { throw CLIError("--split \(split): a fraction must lie in (0, 1)") }
            var order = Array(images.indices)
            seededShuffle(&order, seed: seed)
            let count = Int((Double(images.count) * fraction).rounded())
            var validation = Array(repeating: false, count: images.count)
            for i in order.prefix(count) { validation[i] = true }
            return validation
        }
        guard let column = columns[split] else {
            throw CLIError("--split \(split): neither a fraction nor a column of the --labels CSV")
        }
        return try images.indices.map { i in
            switch column[i]?.lowercased() {
            case "train", "training": return false
            case "val", "validation", "test": return true
            case let other:
                throw CLIError("\(images[i].path): split column '\(split)' says '\(other ?? "")'; use train or val")
            }
        }
    }

    /// Each input's label and extra columns from `path`; every row must name an input.
    private static func fromCSV(_ path: String, _ images: [InputImage]) throws -> ([String?], [String: [String?]]) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CLIError("\(path): cannot read the labels (\(error.localizedDescription))")
        }
        let rows = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) } }
        guard let header = rows.first, let pathColumn = header.firstIndex(of: "path"),
              let labelColumn = header.firstIndex(of: "label") else {
            throw CLIError("\(path): the first row must name the columns, with 'path' and 'label'")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func key(_ file: String) -> String {
            (file.hasPrefix("/") ? URL(fileURLWithPath: file) : base.appendingPathComponent(file)).standardizedFileURL.path
        }
        var byPath: [String: Int] = [:]
        for (i, image) in images.enumerated() {
            byPath[URL(fileURLWithPath: image.path).standardizedFileURL.path] = i
        }
        var names = [String?](repeating: nil, count: images.count)
        var columns: [String: [String?]] = [:]
        for name in header where name != "path" && name != "label" { columns[name] = Array(repeating: nil, count: images.count) }
        for (number, row) in rows.enumerated().dropFirst() where !row.allSatisfy(\.isEmpty) {
            guard row.count == header.count else {
                throw CLIError("\(path) line \(number + 1): \(row.count) fields, the header has \(header.count)")
            }
            let file = row[pathColumn]
            guard let i = byPath[key(file)] ?? byPath[URL(fileURLWithPath: file).standardizedFileURL.path]
                    ?? images.firstIndex(where: { $0.relative == file }) else {
                throw CLIError("\(path) line \(number + 1): \(file) is not among the input images")
            }
            names[i] = row[labelColumn]
            for (c, name) in header.enumerated() where columns[name] != nil { columns[name]?[i] = row[c] }
        }
        return (names, columns)
    }
}

/// Fisher–Yates driven by SplitMix64: the same order for the same seed on every platform and Swift version
/// (the standard library's shuffle promises neither).
func seededShuffle(_ values: inout [Int], seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    guard values.count > 1 else { return }
    for i in stride(from: values.count - 1, to: 0, by: -1) {
        values.swapAt(i, Int(generator.next() % UInt64(i + 1)))
    }
}
