import Foundation
import VitreousImage
import VitreousModel

// Usage: EncoderExample MODEL.safetensors IMAGE.png
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: EncoderExample MODEL.safetensors IMAGE.png")
    exit(2)
}
do {
    let encoder = try ViTEncoder(contentsOf: URL(fileURLWithPath: arguments[1]))  // on Device.default
    let image = try PNG.read(arguments[2])
    let images = try Preprocessor(resize: .centerCrop(size: 224)).tensor([image], on: encoder.device)
    let out = try encoder.encode(images, options: EncoderOptions(tokenNorms: true, clsAttention: true))
    // out.cls [B, D], out.registers [B, R, D], out.patches [B, gh, gw, D], out.tokenNorms (every layer),
    // out.clsAttention [B, heads, T]. Options not asked for cost nothing.
    let last = try out.tokenNorms?.last?.imageStatistics()[0]
    print("CLS \(out.cls.shape), patches \(out.patches.shape), max patch norm \(last?.max ?? 0)")
} catch {
    print("error: \(error)")
    exit(1)
}
