import CVitreous
import Foundation

/// Runs `vitreous_analyze_rgb8` on the fixture's demo image with `metrics` and the given labels; frees a result.
private func analyzeDemo(_ f: Fixture, metrics: String?, labels: [Int32]? = nil, k: Int32 = 0,
                         out: Bool = true) -> vitreous_status {
    var analysis: OpaquePointer?
    let status = withOptionalCString(metrics) { metrics in
        withUnsafeMutablePointer(to: &analysis) { pointer in
            vitreous_analyze_rgb8(f.model, f.pixels, f.pixels.count, 1, 224, 224, nil, metrics, labels, nil, nil, 0, k,
                                  0, 4, out ? pointer : nil)
        }
    }
    if analysis != nil {
        let handle = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(analysis!)))
        let done = DispatchSemaphore(value: 0)  // freed on another thread: this thread's message stays the call's
        Thread { _ = vitreous_analysis_free(OpaquePointer(bitPattern: handle)); done.signal() }.start()
        done.wait()
    }
    return status
}

private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}

/// The misuses of the analysis calls (the table's third part).
let analysisMisuses: [Misuse] = [
    Misuse(description: "analyze_rgb8(NULL model)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        var a: OpaquePointer?
        return vitreous_analyze_rgb8(nil, f.pixels, f.pixels.count, 1, 224, 224, nil, nil, nil, nil, nil, 0, 0, 0, 0, &a)
    },
    Misuse(description: "analyze_rgb8(NULL analysis)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        analyzeDemo(f, metrics: "cka", out: false)
    },
    Misuse(description: "analyze_rgb8(unknown metric)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        analyzeDemo(f, metrics: "cka,nope")
    },
    Misuse(description: "analyze_rgb8(ncc without labels)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        analyzeDemo(f, metrics: "ncc")
    },
    Misuse(description: "analyze_rgb8(one class)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        analyzeDemo(f, metrics: "ncc", labels: [0])
    },
    Misuse(description: "analyze_rgb8(cka on one image)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        analyzeDemo(f, metrics: "cka")
    },
    Misuse(description: "analyze_rgb8(cka_minibatch 3)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var a: OpaquePointer?
        return vitreous_analyze_rgb8(f.model, f.pixels, f.pixels.count, 1, 224, 224, nil, nil, nil, nil, nil, 0, 0, 0, 3, &a)
    },
    Misuse(description: "analyze_rgb8(short pixels)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        var a: OpaquePointer?
        return vitreous_analyze_rgb8(f.model, f.pixels, 10, 1, 224, 224, nil, nil, nil, nil, nil, 0, 0, 0, 0, &a)
    },
    Misuse(description: "analysis_json(a model)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        var needed = 0
        return vitreous_analysis_json(f.model, nil, 0, &needed)
    },
    Misuse(description: "analysis_values(a result)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        var (rows, columns): (Int32, Int32) = (0, 0)
        return vitreous_analysis_values(f.result, "cka-cls", nil, 0, &rows, &columns)
    },
    Misuse(description: "analysis_free(a result)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        vitreous_analysis_free(f.result)
    },
]
