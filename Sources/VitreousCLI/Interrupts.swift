import Dispatch
import Foundation

/// Ctrl-C (SIGINT) and SIGTERM leave no temporary files behind: every output is written under a hidden
/// temporary name and renamed into place (so none is ever half-written), and on a signal the temporary
/// files still in the output folders are removed before the process exits with 128 + the signal.
enum InterruptCleanup {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var folders: [URL] = []  // guarded by `lock`
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []  // guarded by `lock`
    private static let queue = DispatchQueue(label: "vitreous.signals")

    /// Watches `folder` for temporary files, installing the signal handlers on first use.
    static func watch(_ folder: URL) {
        lock.withLock {
            folders.append(folder)
            guard sources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)  // the dispatch source takes over the default action
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler {
                    removeTemporaryFiles()
                    FileHandle.standardError.write(Data("\ninterrupted; temporary files removed\n".utf8))
                    exit(128 + signalNumber)
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Whether `name` is one of the temporary names Vitreous's writers use: `.NAME.tmp-UUID` (safetensors,
    /// JSON, npy) or `.NAME.UUID.tmp` (PNG).
    static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && (name.contains(".tmp-") || name.hasSuffix(".tmp"))
    }

    /// Removes the temporary files under the watched folders; returns how many.
    @discardableResult
    static func removeTemporaryFiles() -> Int {
        let watched = lock.withLock { folders }
        var removed = 0
        for folder in watched {
            guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where isTemporaryName(url.lastPathComponent) {
                if (try? FileManager.default.removeItem(at: url)) != nil { removed += 1 }
            }
        }
        return removed
    }
}
