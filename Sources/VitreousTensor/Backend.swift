import Foundation

/// The activation applied by ``linear(_:weight:bias:activation:)`` after its bias.
public enum Activation: Int32, Sendable, CaseIterable {
    /// No activation: `y = x·Wᵀ + b`.
    case identity = 0
    /// Exact GELU, `0.5·x·(1 + erf(x/√2))`, as PyTorch's default `nn.GELU()`.
    case gelu = 1
}

/// The operations one device implements. ``CPUBackend`` and ``OpenCLBackend`` are the two kinds.
///
/// Shapes are validated by the public operations before a backend sees them, so backends receive flat sizes.
/// Outputs are passed in freshly allocated by ``empty(shape:)``; a backend writes every element of them.
/// Every method may be called from several threads at once.
public protocol Backend: AnyObject, Sendable {
    /// The device this backend runs on.
    var device: Device { get }

    /// A tensor whose elements are undefined until an operation writes them
    /// (NaN when ``VitreousDebug/poisonAllocations`` is on).
    func empty(shape: [Int]) throws -> Tensor
    /// A tensor holding a copy of `values`.
    func tensor(_ values: UnsafeBufferPointer<Float>, shape: [Int]) throws -> Tensor
    /// Copies the elements of `tensor` to host memory, after waiting for the work that produces them.
    func read(_ tensor: Tensor, into destination: UnsafeMutableBufferPointer<Float>) throws
    /// Waits until all submitted work has finished.
    func synchronize() throws
    /// The backend's buffer-pool counters: how many buffers it made, how many requests the pool served.
    var allocationStatistics: AllocationStatistics { get }
    /// Copies all elements of `source` into `destination` (same count) on the device, without a host trip.
    func copy(_ source: Tensor, into destination: Tensor) throws

    /// `c[i] = a[i] · op(b[i])` for `i < batch`, row-major; `op(b)` is `bᵀ` (b stored `[n, k]`) when
    /// `transposeB`, else b stored `[k, n]`. `a` is `[batch, m, k]`; `b` has `batch` matrices, or one
    /// matrix shared by every batch item when `shareB`.
    func matmul(_ a: Tensor, _ b: Tensor, into c: Tensor,
                batch: Int, m: Int, n: Int, k: Int, transposeB: Bool, shareB: Bool) throws
    /// In place on a fresh `y` of `rows × columns`: `y = act(y + bias)` (bias of `columns`, optional).
    func biasActivation(_ y: Tensor, bias: Tensor?, activation: Activation, columns: Int) throws
    /// Layer norm of `rows` rows of `dim`; with `residual`, normalises `x + residual` and writes that sum
    /// to `sum` too.
    func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor, rows: Int, dim: Int,
                   eps: Float, sum: Tensor?, out: Tensor) throws
    /// Per-token L2 norms of `[batch, tokens, dim]` into `norms` `[batch, tokens]`, and per image
    /// `(max, argmax, mean)` over tokens `range` into `stats` `[batch, 3]`.
    func tokenNorms(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>,
                    norms: Tensor, stats: Tensor) throws
    /// Element-wise exact GELU.
    func gelu(_ x: Tensor, out: Tensor) throws
    /// Element-wise sum of two tensors of equal count.
    func add(_ a: Tensor, _ b: Tensor, out: Tensor) throws
    /// `out = residual + gamma ⊙ x`, `gamma` broadcast over rows of `columns`.
    func layerScale(_ x: Tensor, gamma: Tensor, residual: Tensor, columns: Int, out: Tensor) throws
    /// The pre-norm block seam: `sum = residual + gamma ⊙ x`, `out = layerNorm(sum)` over rows of `dim`.
    /// The default runs ``layerScale(_:gamma:residual:columns:out:)`` then
    /// ``layerNorm(_:residual:weight:bias:rows:dim:eps:sum:out:)``; the CPU does both in one pass.
    func layerScaleNorm(_ x: Tensor, gamma: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, rows: Int,
                        dim: Int, eps: Float, sum: Tensor, out: Tensor) throws
    /// Softmax over each of `rows` rows of `columns`.
    func softmax(_ x: Tensor, rows: Int, columns: Int, out: Tensor) throws

    // Token layout (ViT embedding and outputs)

    /// im2col of a stride-`patch` convolution: `[batch, channels, height, width]` →
    /// `[batch, gh·gw, channels·patch·patch]`, rows ordered (channel, ky, kx).
    func patchify(_ images: Tensor, batch: Int, channels: Int, height: Int, width: Int, patch: Int,
                  out: Tensor) throws
    /// `[batch, 1 + registers + patches + extra, dim]`: CLS + position 0, the registers, each patch + its
    /// position, then `extra` zero tokens.
    func assembleTokens(patches: Tensor, cls: Tensor, registers: Tensor?, positions: Tensor, batch: Int,
                        registerCount: Int, patchCount: Int, extraCount: Int, dim: Int, out: Tensor) throws
    /// Tokens `range` of each item of `[batch, tokens, dim]` into `[batch, range.count, dim]`.
    func sliceTokens(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>, out: Tensor) throws
    /// `silu(gate) ⊙ up` for rows `[gate | up]` of `2·hidden`.
    func swiglu(_ x: Tensor, rows: Int, hidden: Int, out: Tensor) throws

    /// Test-time registers, in place on a fresh `h` `[batch, tokens, hidden]`: see
    /// ``shiftNeurons(_:neurons:registers:patches:rule:scale:)``.
    func shiftNeurons(_ h: Tensor, batch: Int, tokens: Int, hidden: Int, neurons: [Int], registers: Range<Int>,
                      patches: Range<Int>, rule: NeuronShiftRule, scale: Float) throws

    // Attention

    /// Fused multi-head attention (``attention(qkv:heads:scale:probabilities:keyMask:)``) over Q, K, V where
    /// `geometry` places them, into `out` `[batch, tokens, heads·headDim]`; with `probabilities`, also the
    /// softmax rows of query tokens `rows` into it, `[batch, heads, rows.count, tokens]`. `keyMask` is
    /// `[batch, tokens]`, 0 = key excluded. A row with every key excluded gets zeros. Batch and tokens are > 0.
    func attention(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor?, geometry: AttentionGeometry,
                   out: Tensor, rows: [Int], probabilities: Tensor?) throws
}

/// Buffer-pool counters of a backend (see ``Backend/allocationStatistics``).
public struct AllocationStatistics: Sendable, Equatable {
    /// Buffers made (system or driver allocations).
    public let created: Int
    /// Requests served from the pool.
    public let reused: Int
    /// Bytes in buffers handed out and not yet returned.
    public let liveBytes: Int
    /// Highest `liveBytes` seen.
    public let peakLiveBytes: Int
}

extension Backend {
    public func layerScaleNorm(_ x: Tensor, gamma: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, rows: Int,
                               dim: Int, eps: Float, sum: Tensor, out: Tensor) throws {
        try layerScale(x, gamma: gamma, residual: residual, columns: dim, out: sum)
        try layerNorm(sum, residual: nil, weight: weight, bias: bias, rows: rows, dim: dim, eps: eps, sum: nil,
                      out: out)
    }
}

extension BufferPool {
    /// The pool's counters in their public form.
    var allocationStatistics: AllocationStatistics {
        let counters = statistics
        return AllocationStatistics(created: counters.created, reused: counters.reused, liveBytes: counters.liveBytes,
                                    peakLiveBytes: counters.peakLiveBytes)
    }
}

/// Switches for tests and debugging. Not for production use.
public enum VitreousDebug {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var poison = false  // guarded by `lock`

    /// When on, every new allocation is filled with NaN before an operation writes it, so a kernel that
    /// skips an element shows up as NaN in its output. Costs one fill per allocation.
    public static var poisonAllocations: Bool {
        get { lock.withLock { poison } }
        set { lock.withLock { poison = newValue } }
    }
}

/// One backend per device, created on first use and kept for the life of the process.
private enum BackendRegistry {
    static let lock = NSLock()
    nonisolated(unsafe) static var backends: [Device: any Backend] = [:]  // guarded by `lock`
}

/// The backend for `device`, starting it on first use (an OpenCL context, queue and kernel programs).
/// - Throws: ``VitreousError/deviceUnavailable(_:)`` for an OpenCL index that does not exist or a device
///   that fails to start; for the CPU, the error of a bad `VITREOUS_CPU_ISA` (see ``CPUInstructionSet``).
public func backend(for device: Device) throws -> any Backend {
    BackendRegistry.lock.lock()
    defer { BackendRegistry.lock.unlock() }
    if let existing = BackendRegistry.backends[device] { return existing }
    let made: any Backend
    switch device {
    case .cpu:
        _ = try CPUInstructionSet.active  // a bad VITREOUS_CPU_ISA is an error here, before any kernel runs
        made = CPUBackend.shared
    case .openCL(let index):
        let handles = OpenCLPlatforms.enumeration.devices
        guard handles.indices.contains(index) else {
            throw VitreousError.deviceUnavailable(handles.isEmpty
                ? "opencl:\(index) requested but \(Device.openCLProblem ?? "no OpenCL device exists")"
                : "opencl:\(index) does not exist; " + (handles.count == 1 ? "the only OpenCL device is opencl:0"
                                                          : "devices are opencl:0...opencl:\(handles.count - 1)"))
        }
        made = try OpenCLBackend(handle: handles[index])
    }
    BackendRegistry.backends[device] = made
    return made
}
