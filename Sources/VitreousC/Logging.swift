import Foundation
import Logging

/// The C API's log routing (public only so that `vitreous_set_log_callback` can name its callback type). A C program gets no log line unless it asks: swift-log's default handler would
/// print the CPU-backend notice on stderr. The process-wide handler is bootstrapped once (bootstrapping twice
/// traps) on the first C call, and each message consults the current callback and `VITREOUS_LOG` level.
public enum CLogging {
    /// `void (*)(int32_t level, const char *message, void *user_data)`, as vitreous.h declares it.
    public typealias Callback = @convention(c) (Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void

    private struct State: @unchecked Sendable {
        var callback: Callback?
        var userData: UnsafeMutableRawPointer?
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var state = State()

    /// `VITREOUS_LOG=debug|info|warning|error`: messages at that level and above go to stderr; unset, none do.
    static let stderrLevel: Logger.Level? = {
        switch ProcessInfo.processInfo.environment["VITREOUS_LOG"]?.lowercased() {
        case "debug": return .debug
        case "info": return .info
        case "warning": return .warning
        case "error": return .error
        default: return nil
        }
    }()

    /// Installs the handler, once per process; every C entry point calls it before doing any work.
    static let start: Void = {
        LoggingSystem.bootstrap { _ in Handler() }
    }()

    static func setCallback(_ callback: Callback?, _ userData: UnsafeMutableRawPointer?) {
        lock.withLock { state = State(callback: callback, userData: userData) }
    }

    /// The level code of vitreous.h's `vitreous_log_level`.
    static func code(of level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: return 0
        case .info, .notice: return 1
        case .warning: return 2
        case .error, .critical: return 3
        }
    }

    private struct Handler: LogHandler {
        var metadata: Logger.Metadata = [:]
        // Filtering happens in `log`, against the callback and `VITREOUS_LOG` of the moment.
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let (level, message) = (event.level, event.message)
            let current = CLogging.lock.withLock { CLogging.state }
            if let callback = current.callback {
                "\(message)".withCString { callback(CLogging.code(of: level), $0, current.userData) }
            }
            if let threshold = CLogging.stderrLevel, level >= threshold {
                let name = ["debug", "info", "warning", "error"][Int(CLogging.code(of: level))]
                FileHandle.standardError.write(Data("vitreous: \(name): \(message)\n".utf8))
            }
        }
    }
}

/// `void vitreous_set_log_callback(vitreous_log_callback callback, void *user_data)`: every later log message
/// (debug and above) goes to `callback`; NULL turns the callback off.
@_cdecl("vitreous_set_log_callback")
public func vitreous_set_log_callback(_ callback: CLogging.Callback?, _ userData: UnsafeMutableRawPointer?) {
    CLogging.start
    CLogging.setCallback(callback, userData)
}
