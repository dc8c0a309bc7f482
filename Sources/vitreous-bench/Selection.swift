import Foundation
import VitreousTensor

/// The parts of the suite a run can be limited to (`--part`).
enum BenchmarkPart: String, CaseIterable {
    case ops, attention, encoders
}

/// Which rows one run measures: `--part`, `--filter`, and the `--time-limit` after which no new row starts.
/// Shared by the suites so that every row asks the same question before it starts.
final class BenchmarkSelection {
    let parts: Set<BenchmarkPart>
    let filter: String?
    let deadline: DispatchTime?
    /// Rows not started because the time limit had passed, in order.
    private(set) var skipped: [String] = []

    init(parts: Set<BenchmarkPart>, filter: String?, timeLimit: Double?) {
        self.parts = parts
        self.filter = filter
        deadline = timeLimit.map { .now() + $0 }
    }

    /// Whether `name` passes `--filter` (contains its text, ignoring case).
    func matches(_ name: String) -> Bool {
        guard let filter, !filter.isEmpty else { return true }
        return name.localizedCaseInsensitiveContains(filter)
    }

    /// Whether the row (or group of rows) `name` of `part` should run now; false, and noted, once past the limit.
    func wanted(_ name: String, part: BenchmarkPart) -> Bool {
        guard parts.contains(part), matches(name) else { return false }
        if let deadline, DispatchTime.now() >= deadline {
            skipped.append(name)
            return false
        }
        return true
    }
}

/// A comma-separated list of integers from the command line (`--sizes 224,518`).
func integerList(_ text: String, option: String) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw BenchmarkOptionError("\(option) '\(text)': expected positive integers separated by commas")
    }
    return values.compactMap { $0 }
}

/// A bad option value, reported in one line.
struct BenchmarkOptionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Whether `device` is an OpenCL GPU (sizes a ceiling measurement).
func isGPU(_ device: Device) -> Bool {
    guard case .openCL(let index) = device else { return false }
    return Device.openCLDevices.first { $0.index == index }?.isGPU ?? false
}
