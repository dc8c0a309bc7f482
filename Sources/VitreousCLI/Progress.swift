import Foundation

/// A progress line on stderr for long runs: a bar on a terminal (redrawn in place), a plain line every
/// tenth of the way otherwise (logs, pipes), with throughput and the time left.
final class ProgressBar {
    private let total: Int
    private let label: String
    private let start = Date()
    private var done = 0
    private var lastDecile = -1
    private let terminal = isatty(STDERR_FILENO) != 0
    private let enabled: Bool

    init(total: Int, label: String, enabled: Bool = true) {
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled && total > 1
    }

    func advance(by count: Int = 1) {
        done += count
        guard enabled else { return }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        let status = String(format: "%d/%d %@  %.2f/s  ETA %@", done, total, label, rate, Self.clock(remaining))
        if terminal {
            let width = 28, filled = width * done / total
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: max(0, width - filled - 1))
            FileHandle.standardError.write(Data("\r[\(bar)] \(status)\u{1B}[K".utf8))
            if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            let decile = 10 * done / total
            if decile != lastDecile {
                lastDecile = decile
                FileHandle.standardError.write(Data("\(status)\n".utf8))
            }
        }
    }

    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return String(format: "%d:%02d", whole / 60, whole % 60)
    }
}
