/// Every failure of loading, checking or writing a model file. Each case names the file and the problem, so
/// that the message alone (as a command-line tool prints it) is enough to act on.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened, mapped, read or written (`reason` is the system's message).
    case io(file: String, reason: String)
    /// A safetensors file that breaks the format: bad header, bad offsets, sizes that do not add up.
    case safetensors(file: String, problem: String)
    /// A `.npy` file that is malformed or of a kind this reader does not handle.
    case npy(file: String, problem: String)
    /// A safetensors file whose keys are not those of a DINOv2 checkpoint of the expected configuration.
    case keys(file: String, layout: String, missing: [String], unexpected: [String])
    /// A tensor whose shape does not fit the configuration.
    case shape(file: String, key: String, shape: [Int], expected: [Int])
    /// A weight that is NaN or infinite (`index` is the flat element index in the tensor).
    case nonFinite(file: String, key: String, index: Int, value: Float)
    /// The file's keys follow no known layout, or the configuration cannot be inferred from them.
    case layout(file: String, problem: String)
    /// A configuration that cannot describe a model (a hidden size not divisible by the head count, ...).
    case invalidConfig(String)
    /// An argument outside what the function accepts (a tensor name that does not exist, a grid of 0, ...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .io(let file, let reason):
            return "\(file): \(reason)"
        case .safetensors(let file, let problem):
            return "\(file): not a valid safetensors file: \(problem)"
        case .npy(let file, let problem):
            return "\(file): cannot read .npy: \(problem)"
        case .keys(let file, let layout, let missing, let unexpected):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing keys: " + ModelError.list(missing)) }
            if !unexpected.isEmpty { parts.append("unexpected keys: " + ModelError.list(unexpected)) }
            return "\(file): keys do not match a DINOv2 checkpoint in the \(layout) layout; "
                + parts.joined(separator: "; ")
        case .shape(let file, let key, let shape, let expected):
            return "\(file): tensor '\(key)' has shape \(shape) but the configuration needs \(expected)"
        case .nonFinite(let file, let key, let index, let value):
            return "\(file): tensor '\(key)' holds \(value) at element \(index); the checkpoint is corrupt or "
                + "comes from a diverged run"
        case .layout(let file, let problem):
            return "\(file): \(problem)"
        case .invalidConfig(let message):
            return "invalid ViT configuration: \(message)"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        }
    }

    /// At most 20 names, then a count: a checkpoint of the wrong model can miss hundreds of keys.
    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(20).joined(separator: ", ")
        return names.count > 20 ? "\(shown), … (\(names.count) in all)" : shown
    }
}
