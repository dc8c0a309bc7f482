import Foundation
import VitreousTensor

extension CheckpointLayout {
    /// The key layout of the checkpoint in `file` and the prefix in front of its model keys (`""`,
    /// `"dinov2."`, ...), recognised by the CLS token's key.
    public static func detect(in file: SafetensorsFile) throws -> (layout: CheckpointLayout, prefix: String) {
        let detected = try DetectedLayout.detect(file.names, file: file.url.path)
        return (detected.layout, detected.prefix)
    }
}

extension ViTParameters where Value == [Float] {
    /// Reads a DINOv2 or DINOv3 checkpoint in any of the ``CheckpointLayout``s into the canonical layout on the
    /// host; the layout says which family it is.
    ///
    /// Separate q, k, v projections are concatenated into the fused qkv matrix, transformers-5 gate and up
    /// projections into `w12`; a missing LayerScale becomes ones; the mask token is accepted and dropped.
    /// DINOv3's K bias is zero: the original's `bias_mask` is applied, Hugging Face's missing `k_proj.bias` is
    /// zeros; the original's `rope_embed.periods` are used as stored (they set ``ViTConfig/ropeTheta``, and
    /// ``ViTConfig/ropePeriods`` when they are not θ^(4f/head_dim)), refused only when not finite and positive;
    /// its `local_cls_norm` (used only on training crops) is accepted and dropped,
    /// a `cls_norm` (untied CLS norm) is refused.
    /// Every key is checked before any tensor is read: all missing and unexpected keys are reported together.
    /// Shapes must equal the configuration's up to leading axes of extent 1 (`[1, 1, D]` and `[D]` both fit a
    /// token).
    /// - Parameters:
    ///   - config: the architecture to expect; nil infers it (``ViTConfig/inferred(from:heads:)``).
    ///   - heads: the head count when inferring (ignored with `config`).
    ///   - allowUnexpectedKeys: accept keys that are no part of the model (a classifier head, a second
    ///     model in a training checkpoint) instead of failing.
    /// - Throws: ``ModelError`` naming the file and the key: ``ModelError/keys(file:layout:missing:unexpected:)``,
    ///   ``ModelError/shape(file:key:shape:expected:)``, or the file's own format errors.
    public static func load(_ file: SafetensorsFile, config: ViTConfig? = nil, heads: Int? = nil,
                            allowUnexpectedKeys: Bool = false) throws -> ViTHostWeights {
        let reader = try slotReader(file, config: config, heads: heads, allowUnexpectedKeys: allowUnexpectedKeys)
        return try ViTHostWeights(config: reader.config, reader.read)
    }

    /// The checks of ``load(_:config:heads:allowUnexpectedKeys:)`` (every key and shape, before any tensor is read),
    /// then the configuration and a function that reads one slot's values in the canonical layout: what loading onto
    /// a device one parameter at a time needs.
    static func slotReader(_ file: SafetensorsFile, config: ViTConfig?, heads: Int?, allowUnexpectedKeys: Bool)
        throws -> (config: ViTConfig, read: (ParameterSlot) throws -> [Float]) {
        let path = file.url.path
        let detected = try DetectedLayout.detect(file.names, file: path)
        let layout = detected.layout, prefix = detected.prefix
        var config = try config ?? ViTConfig.inferred(from: file, layout: detected, heads: heads)
        try config.validate()

        var expected: [(key: String, shape: [Int])] = []
        for slot in ParameterSlot.all(for: config) {
            guard let source = layout.source(of: slot, config: config) else { continue }
            for (key, shape) in zip(source.keys, source.shapes) { expected.append((prefix + key, shape)) }
        }
        if config.family != layout.family {
            throw ModelError.invalidConfig("\(path) is a \(layout.family) checkpoint (\(layout)) but the configuration "
                + "given is \(config.family)")
        }
        let present = Set(file.names)
        let extras = DINOv3Keys.accepted(in: file.names, layout: layout, prefix: prefix)
        if let untied = file.names.first(where: { $0.hasPrefix(prefix + "cls_norm.") }), layout.family == .dinov3 {
            throw ModelError.layout(file: path, problem: "'\(untied)': untied CLS / patch norms "
                + "(untie_cls_and_patch_norms) are not supported")
        }
        if layout == .dinov3Original, present.contains(prefix + CheckpointLayout.ropePeriodsKey) {
            // The periods the checkpoint was trained with win over a configuration's θ.
            let key = prefix + CheckpointLayout.ropePeriodsKey
            config = try DINOv3Keys.applying(periods: try file.floats(key), to: config, file: path, key: key)
        }
        let known = Set(expected.map(\.key)).union([prefix + layout.maskKey]).union(extras)
        let missing = expected.map(\.key).filter { !present.contains($0) }
        let unexpected = allowUnexpectedKeys ? [] : file.names.filter { !known.contains($0) }
        guard missing.isEmpty, unexpected.isEmpty else {
            throw ModelError.keys(file: path, layout: layout.description, missing: missing, unexpected: unexpected)
        }
        for (key, shape) in expected {
            let actual = try file.info(key).shape
            guard squeezed(actual) == squeezed(shape) else {
                throw ModelError.shape(file: path, key: key, shape: actual, expected: shape)
            }
        }

        return (config, { slot in
            guard let source = layout.source(of: slot, config: config) else {
                // Only LayerScale can be absent: a model without it scales by one.
                return [Float](repeating: 1, count: slot.shape(config).reduce(1, *))
            }
            let parts = try source.keys.map { try finiteFloats(file, prefix + $0) }
            switch source.assembly {
            case .concatenated: return parts.flatMap { $0 }
            case .zeroKeyBias: return parts[0] + [Float](repeating: 0, count: config.hiddenSize) + parts[1]
            case .maskedBias: return zip(parts[0], parts[1]).map { $0 * $1 }
            }
        })
    }

    /// A tensor's values, refused when one is NaN or infinite: such a checkpoint (a diverged or corrupted
    /// training run) would turn every feature into NaN without saying why.
    private static func finiteFloats(_ file: SafetensorsFile, _ key: String) throws -> [Float] {
        let values = try file.floats(key)
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw ModelError.nonFinite(file: file.url.path, key: key, index: index, value: values[index])
        }
        return values
    }

    /// Opens `url` and reads it as ``load(_:config:heads:allowUnexpectedKeys:)`` does.
    public static func load(_ url: URL, config: ViTConfig? = nil, heads: Int? = nil,
                            allowUnexpectedKeys: Bool = false) throws -> ViTHostWeights {
        try load(SafetensorsFile(url), config: config, heads: heads, allowUnexpectedKeys: allowUnexpectedKeys)
    }

    /// Writes the weights as a safetensors checkpoint in `layout`, each key preceded by `prefix`, atomically.
    ///
    /// The fused qkv matrix is split into q, k, v for the Hugging Face layouts and `w12` into gate and up for
    /// transformers 5. A zero mask token is included so that PyTorch loaders in strict mode accept the file;
    /// LayerScale is left out for a model without it. The head count, which no tensor shape shows, goes into the
    /// file's metadata as `num_attention_heads` (unless `metadata` sets it), so the file reads back as written.
    public func write(to url: URL, layout: CheckpointLayout, prefix: String = "",
                      metadata: [String: String] = ["format": "pt"]) throws {
        guard layout.family == config.family else {
            throw ModelError.invalidArgument("\(config.family) weights cannot be written in the \(layout) layout")
        }
        var metadata = metadata
        metadata["num_attention_heads"] = metadata["num_attention_heads"] ?? String(config.heads)
        var writer = SafetensorsWriter(metadata: metadata)
        for slot in ParameterSlot.all(for: config) {
            guard let source = layout.source(of: slot, config: config) else { continue }
            guard let values = self[slot] else {
                throw ModelError.invalidArgument("the weights lack \(slot), which \(config) needs")
            }
            let expected = slot.shape(config).reduce(1, *)
            guard values.count == expected else {
                throw ModelError.invalidArgument(
                    "\(slot) has \(values.count) values; its shape \(slot.shape(config)) needs \(expected)")
            }
            let d = config.hiddenSize
            switch source.assembly {
            case .concatenated:
                var start = 0
                for (key, shape) in zip(source.keys, source.shapes) {
                    let count = shape.reduce(1, *)
                    try writer.add(prefix + key, Array(values[start..<(start + count)]), shape: shape)
                    start += count
                }
            case .zeroKeyBias:
                try writer.add(prefix + source.keys[0], Array(values[0..<d]), shape: [d])
                try writer.add(prefix + source.keys[1], Array(values[(2 * d)...]), shape: [d])
            case .maskedBias:
                let mask = (0..<(3 * d)).map { (d..<(2 * d)).contains($0) ? Float(0) : 1 }
                try writer.add(prefix + source.keys[0], values, shape: [3 * d])
                try writer.add(prefix + source.keys[1], mask, shape: [3 * d])
            }
        }
        try writer.add(prefix + layout.maskKey, [Float](repeating: 0, count: config.hiddenSize),
                       shape: layout.maskShape(config.hiddenSize))
        if layout == .dinov3Original {
            try writer.add(prefix + CheckpointLayout.ropePeriodsKey, DINOv3Keys.periods(config),
                           shape: [config.headDimension / 4])
        }
        try writer.write(to: url)
    }
}

extension ViTParameters where Value == Tensor {
    /// Reads a DINOv2 or DINOv3 checkpoint (see ``ViTParameters/load(_:config:heads:allowUnexpectedKeys:)``) and uploads
    /// every parameter to `device` in its canonical shape.
    public static func load(_ url: URL, on device: Device = .default, config: ViTConfig? = nil,
                            heads: Int? = nil, allowUnexpectedKeys: Bool = false) throws -> ViTWeights {
        try load(SafetensorsFile(url), on: device, config: config, heads: heads, allowUnexpectedKeys: allowUnexpectedKeys)
    }

    /// Reads a checkpoint as ``load(_:on:config:heads:allowUnexpectedKeys:)`` does, one parameter at a time onto
    /// `device` with the linear layers' matrices converted to `precision` as each is read: the whole model never
    /// exists on the host at once, so loading a bf16 model peaks near its bf16 size.
    /// - Throws: as ``ViTParameters/load(_:config:heads:allowUnexpectedKeys:)``, and
    ///   ``VitreousError/invalidArgument(_:)`` for a precision `device` does not run.
    public static func load(_ file: SafetensorsFile, on device: Device = .default, config: ViTConfig? = nil,
                            heads: Int? = nil, allowUnexpectedKeys: Bool = false,
                            precision: Precision = .fp32) throws -> ViTWeights {
        try precision.check(on: device)
        let reader = try ViTHostWeights.slotReader(file, config: config, heads: heads,
                                                   allowUnexpectedKeys: allowUnexpectedKeys)
        let weights = try ViTWeights(config: reader.config) { slot in
            try deviceParameter(try reader.read(slot), slot: slot, config: reader.config, on: device,
                                precision: precision)
        }
        if precision != .fp32 { try device.trimBufferPool() }  // the float32 matrices went back to the pool
        return weights
    }

    /// One parameter's values as a tensor of its canonical shape on `device`, a linear layer's matrix converted to
    /// `precision`.
    static func deviceParameter(_ values: [Float], slot: ParameterSlot, config: ViTConfig, on device: Device,
                                precision: Precision) throws -> Tensor {
        let shape = slot.shape(config)
        guard values.count == shape.reduce(1, *) else {
            throw ModelError.invalidArgument("a parameter has \(values.count) values but its shape is \(shape)")
        }
        if precision == .fp16, slot.isLinearWeight, let index = values.firstIndex(where: { abs($0) > 65504 }) {
            throw ModelError.invalidArgument("fp16 cannot hold \(slot): weight \(index) is \(values[index]), beyond "
                + "half precision's largest value 65504; use fp32 for this model")
        }
        let tensor = try Tensor(values, shape: shape, on: device)
        return slot.isLinearWeight ? try linearWeight(tensor, precision: precision) : tensor
    }

    /// Writes the weights as a safetensors checkpoint in `layout` (see the host version).
    public func write(to url: URL, layout: CheckpointLayout, prefix: String = "",
                      metadata: [String: String] = ["format": "pt"]) throws {
        try host().write(to: url, layout: layout, prefix: prefix, metadata: metadata)
    }
}

/// A shape without its leading axes of extent 1.
private func squeezed(_ shape: [Int]) -> ArraySlice<Int> { shape.drop { $0 == 1 } }
