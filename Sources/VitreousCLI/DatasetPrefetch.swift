import Foundation
import VitreousImage

/// One input decoded and resized on a background thread, or the error that stopped it.
struct PrefetchedImage: Sendable {
    let input: InputImage
    let outcome: Result<(original: (width: Int, height: Int), image: Image), any Error>
    let decodeSeconds: Double
    let resizeSeconds: Double
}

/// Decodes and resizes inputs on `threads` background threads, in input order, at most `depth` images ahead
/// of the consumer: the images waiting plus those being decoded never exceed `depth`, which bounds the
/// memory the queue holds to `depth` encoder-size images plus `threads` decoded originals.
final class PrefetchQueue: @unchecked Sendable {
    private let inputs: [InputImage]
    private let depth: Int
    private let prepare: @Sendable (InputImage) throws -> ((width: Int, height: Int), Image, Double)
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var next = 0, consumed = 0, cancelled = false, running = 0
    private var ready: [Int: PrefetchedImage] = [:]

    /// `prepare` returns the original size, the encoder-size image and the seconds decoding took.
    init(_ inputs: [InputImage], threads: Int, depth: Int,
         prepare: @escaping @Sendable (InputImage) throws -> ((width: Int, height: Int), Image, Double)) {
        self.inputs = inputs
        self.depth = max(1, depth)
        self.prepare = prepare
        running = max(1, threads)
        for _ in 0..<running {
            let thread = Thread { [self] in work() }
            thread.name = "vitreous.decode"
            thread.start()
        }
    }

    private func work() {
        while true {
            condition.lock()
            while !cancelled && next < inputs.count && next - consumed >= depth { condition.wait() }
            guard !cancelled && next < inputs.count else {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let position = next
            next += 1
            condition.unlock()

            let input = inputs[position]
            let started = Date()
            let item: PrefetchedImage
            do {
                let (original, image, decodeSeconds) = try prepare(input)
                item = PrefetchedImage(input: input, outcome: .success((original, image)), decodeSeconds: decodeSeconds,
                                       resizeSeconds: Date().timeIntervalSince(started) - decodeSeconds)
            } catch {
                item = PrefetchedImage(input: input, outcome: .failure(error),
                                       decodeSeconds: Date().timeIntervalSince(started), resizeSeconds: 0)
            }
            condition.lock()
            ready[position] = item
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The image at `position` (taken in order, each once), waiting for it if needed.
    func take(_ position: Int) -> PrefetchedImage {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let item = ready.removeValue(forKey: position) {
                consumed = position + 1
                condition.broadcast()
                return item
            }
            condition.wait()
        }
    }

    /// Stops the threads after the images they are decoding; waits until they have.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }
}
