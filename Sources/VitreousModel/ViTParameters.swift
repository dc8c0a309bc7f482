import VitreousTensor

/// Every parameter of a DINOv2- or DINOv3-family ViT in one canonical layout, whatever the checkpoint's key names.
/// `Value` is ``Tensor`` for inference (``ViTWeights``) or `[Float]` on the host for the float64 reference
/// (``ViTHostWeights``). Matrices are row-major `[out, in]`, as PyTorch's `Linear` stores them, so a
/// projection is `linear(x, weight: w, bias: b)`.
///
/// Forward pass, top to bottom (T = 1 + R + gh·gw tokens of width D):
/// 1. patches: `linear(patches, patchEmbedWeight, patchEmbedBias)` with each patch flattened as
///    (channel, y, x), patches row-major (row = y);
/// 2. tokens `[clsToken; patches] + positionEmbedding(gridHeight:gridWidth:)`, then the
///    `registerTokens` inserted after CLS (they get no position embedding); DINOv3 adds no position table;
/// 3. each block: `x += layerScale1 ⊙ proj(attention(qkv(norm1(x))))`, for DINOv3 with the patch tokens'
///    queries and keys rotated by the rotary embedding (``RotaryTables``) before the attention;
///    `x += layerScale2 ⊙ fc2(act(fc1(norm2(x))))`;
/// 4. `layerNorm(x, normWeight, normBias)`.
public struct ViTParameters<Value: Sendable>: Sendable {
    /// One transformer block. Shapes for D = hidden size, H = MLP hidden size.
    public struct Block: Sendable {
        /// Pre-attention LayerNorm, [D] each.
        public var norm1Weight: Value, norm1Bias: Value
        /// Fused query/key/value projection [3D, D]: rows Q `[0, D)`, K `[D, 2D)`, V `[2D, 3D)`, each split
        /// into consecutive head slices of D/heads rows.
        public var qkvWeight: Value
        /// [3D], in the same row order; nil for a model without qkv bias. DINOv3's K third is zero (the
        /// original masks it, Hugging Face has none).
        public var qkvBias: Value?
        /// Attention output projection [D, D] and its bias [D].
        public var projWeight: Value, projBias: Value
        /// Per-channel scale of the attention branch [D] (ones for a model without LayerScale).
        public var layerScale1: Value
        /// Pre-MLP LayerNorm, [D] each.
        public var norm2Weight: Value, norm2Bias: Value
        /// First MLP matrix: `fc1` [H, D] for GELU; for SwiGLU `w12` [2H, D], rows `[0, H)` the gate (SiLU
        /// applied) and `[H, 2H)` the up projection.
        public var fc1Weight: Value
        /// [H], or [2H] for SwiGLU.
        public var fc1Bias: Value
        /// Second MLP matrix [D, H] (`fc2`, or `w3` for SwiGLU) and its bias [D].
        public var fc2Weight: Value, fc2Bias: Value
        /// Per-channel scale of the MLP branch [D] (ones for a model without LayerScale).
        public var layerScale2: Value
    }

    /// The architecture these parameters belong to.
    public var config: ViTConfig
    /// Patch embedding [D, 3·p·p]: the stride-p convolution's [D, 3, p, p] kernel flattened per output.
    public var patchEmbedWeight: Value
    /// [D].
    public var patchEmbedBias: Value
    /// The CLS token [D].
    public var clsToken: Value
    /// [R, D]; nil for a model without registers.
    public var registerTokens: Value?
    /// The stored position table [1 + g·g, D]: row 0 for CLS, then the g×g grid row-major; nil for DINOv3,
    /// which has none. Use ``positionEmbedding(gridHeight:gridWidth:)`` for the table an image needs.
    public var positionEmbedding: Value?
    /// The transformer blocks, in order.
    public var blocks: [Block]
    /// Final LayerNorm, [D] each.
    public var normWeight: Value, normBias: Value

    /// Builds every slot of `config` from `value`; slots a model does not have (registers, qkv bias) stay nil.
    init(config: ViTConfig, _ value: (ParameterSlot) throws -> Value) throws {
        self.config = config
        patchEmbedWeight = try value(.patchEmbedWeight)
        patchEmbedBias = try value(.patchEmbedBias)
        clsToken = try value(.clsToken)
        registerTokens = config.registerCount > 0 ? try value(.registerTokens) : nil
        positionEmbedding = config.hasPositionTable ? try value(.positionEmbedding) : nil
        blocks = try (0..<config.depth).map { index in
            func part(_ part: ParameterSlot.BlockSlot) throws -> Value { try value(.block(index, part)) }
            return Block(norm1Weight: try part(.norm1Weight), norm1Bias: try part(.norm1Bias),
                         qkvWeight: try part(.qkvWeight),
                         qkvBias: config.hasQKVBias ? try part(.qkvBias) : nil,
                         projWeight: try part(.projWeight), projBias: try part(.projBias),
                         layerScale1: try part(.layerScale1),
                         norm2Weight: try part(.norm2Weight), norm2Bias: try part(.norm2Bias),
                         fc1Weight: try part(.fc1Weight), fc1Bias: try part(.fc1Bias),
                         fc2Weight: try part(.fc2Weight), fc2Bias: try part(.fc2Bias),
                         layerScale2: try part(.layerScale2))
        }
        normWeight = try value(.normWeight)
        normBias = try value(.normBias)
    }

    /// The value in `slot`, nil when the model has no such parameter.
    subscript(slot: ParameterSlot) -> Value? {
        switch slot {
        case .patchEmbedWeight: return patchEmbedWeight
        case .patchEmbedBias: return patchEmbedBias
        case .clsToken: return clsToken
        case .registerTokens: return registerTokens
        case .positionEmbedding: return positionEmbedding
        case .normWeight: return normWeight
        case .normBias: return normBias
        case .block(let index, let part):
            guard blocks.indices.contains(index) else { return nil }
            let block = blocks[index]
            switch part {
            case .norm1Weight: return block.norm1Weight
            case .norm1Bias: return block.norm1Bias
            case .qkvWeight: return block.qkvWeight
            case .qkvBias: return block.qkvBias
            case .projWeight: return block.projWeight
            case .projBias: return block.projBias
            case .layerScale1: return block.layerScale1
            case .norm2Weight: return block.norm2Weight
            case .norm2Bias: return block.norm2Bias
            case .fc1Weight: return block.fc1Weight
            case .fc1Bias: return block.fc1Bias
            case .fc2Weight: return block.fc2Weight
            case .fc2Bias: return block.fc2Bias
            case .layerScale2: return block.layerScale2
            }
        }
    }

    /// The same parameters with each value transformed; `shape` is the value's canonical shape.
    public func map<Other: Sendable>(_ transform: (_ value: Value, _ shape: [Int]) throws -> Other)
        throws -> ViTParameters<Other> {
        try ViTParameters<Other>(config: config) { slot in
            guard let value = self[slot] else {
                throw ModelError.invalidArgument("parameters lack \(slot) that \(config) needs")
            }
            return try transform(value, slot.shape(config))
        }
    }
}

/// The weights for inference: every parameter a ``Tensor`` on one device.
public typealias ViTWeights = ViTParameters<Tensor>
/// The weights on the host, for the float64 reference and for writing: every parameter a row-major `[Float]`.
public typealias ViTHostWeights = ViTParameters<[Float]>

extension ViTParameters where Value == Tensor {
    /// The device holding the weights.
    public var device: Device { clsToken.device }

    /// Copies every tensor to the host.
    public func host() throws -> ViTHostWeights { try map { tensor, _ in try tensor.toArray() } }

    /// The same weights on another device.
    public func to(_ device: Device) throws -> ViTWeights { try map { tensor, _ in try tensor.to(device) } }

    /// The same weights with the linear layers' matrices (patch embedding, qkv, projection, both MLP matrices)
    /// stored in `precision` by ``linearWeight(_:precision:)``; every other parameter as it is.
    /// - Throws: ``VitreousError/invalidArgument(_:)`` for a precision the weights' device does not run.
    public func converted(to precision: Precision) throws -> ViTWeights {
        try precision.check(on: device)
        var converted = self
        try converted.convertLinearWeights(precision)
        return converted
    }

    /// Converts the linear layers' matrices in place, one at a time (each float32 matrix can go as soon as its
    /// converted form exists).
    mutating func convertLinearWeights(_ precision: Precision) throws {
        guard precision != .fp32 else { return }
        self = try ViTWeights(config: config) { slot in
            guard let tensor = self[slot] else {
                throw ModelError.invalidArgument("parameters lack \(slot) that \(config) needs")
            }
            return slot.isLinearWeight ? try linearWeight(tensor, precision: precision) : tensor
        }
    }
}

extension ViTParameters where Value == [Float] {
    /// Uploads every parameter to `device` as a tensor of its canonical shape.
    /// - Throws: ``ModelError/invalidArgument(_:)`` or a ``VitreousError`` when an array does not fill its
    ///   shape (parameters edited by hand) or the device cannot hold them.
    public func tensors(on device: Device = .default) throws -> ViTWeights {
        try map { values, shape in
            guard values.count == shape.reduce(1, *) else {
                throw ModelError.invalidArgument("a parameter has \(values.count) values but its shape is \(shape)")
            }
            return try Tensor(values, shape: shape, on: device)
        }
    }

    /// Uploads every parameter to `device`, the linear layers' matrices converted to `precision` (see
    /// ``ViTParameters/converted(to:)``).
    /// - Throws: as ``tensors(on:)``, and ``VitreousError/invalidArgument(_:)`` for a precision `device` does not run.
    public func tensors(on device: Device, precision: Precision) throws -> ViTWeights {
        try precision.check(on: device)
        guard precision != .fp32 else { return try tensors(on: device) }
        // One matrix at a time: only one float32 copy of a linear weight ever exists on the device.
        let weights = try ViTWeights(config: config) { slot in
            guard let values = self[slot] else {
                throw ModelError.invalidArgument("parameters lack \(slot) that \(config) needs")
            }
            return try ViTWeights.deviceParameter(values, slot: slot, config: config, on: device, precision: precision)
        }
        try device.trimBufferPool()  // the float32 matrices went back to the pool: give their memory back
        return weights
    }

    /// Every parameter as Double, for the float64 reference.
    public func doubles() throws -> ViTParameters<[Double]> { try map { values, _ in values.map(Double.init) } }
}
