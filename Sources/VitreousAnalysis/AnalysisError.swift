/// Why an analysis cannot run on the data it was given: one line naming the input and the remedy.
public enum AnalysisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Data whose shape does not fit what the measure was set up for.
    case shapeMismatch(String)
    /// Data that cannot support the measure (too few images, a class with one image, k too large, ...).
    case insufficientData(String)
    /// An argument outside its range.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let text), .insufficientData(let text), .invalidArgument(let text): return text
        }
    }
}

/// `values.count == expected`, else ``AnalysisError/shapeMismatch(_:)`` naming `what`.
func requireCount(_ values: some Collection, _ expected: Int, _ what: String) throws {
    guard values.count == expected else {
        throw AnalysisError.shapeMismatch("\(what): \(values.count) values, expected \(expected)")
    }
}
