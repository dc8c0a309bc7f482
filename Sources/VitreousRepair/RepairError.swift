/// Every failure of the repair algorithms. Each case says what was wrong with which argument, so that the
/// message alone (as a command-line tool prints it) is enough to act on.
public enum RepairError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Array sizes that do not fit each other or the grid (a token array that is not `count × dimension`).
    case shapeMismatch(String)
    /// A value outside what the function accepts (a negative norm, a NaN, a threshold of zero, ...).
    case invalidArgument(String)
    /// Weights that do not describe a model the defect-direction analysis handles.
    case unsupportedWeights(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let message): return "shape mismatch: \(message)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .unsupportedWeights(let message): return "unsupported weights: \(message)"
        }
    }
}
