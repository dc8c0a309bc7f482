import Foundation
import VitreousAnalysis
import VitreousModel
import VitreousRepair

/// `analyze`'s checkpoint, `OUT/checkpoint.plist` (a binary property list): the accumulated state of the
/// analysis (``LayerAnalysisSnapshot``), how many inputs it covers, their failures and the feature chunks
/// (`OUT/pooled/`) written with it. Written after every chunk, atomically and synced, after the chunk it
/// names: a crash loses at most the chunk being filled, and a rerun of the same command goes on from here.
struct AnalyzeCheckpoint: Codable {
    static let format = "vitreous-analyze-checkpoint/1"
    static let fileName = "checkpoint.plist"

    /// An input that failed before the checkpoint, reported again at the end of the resumed run.
    struct Failure: Codable {
        var path: String
        var message: String
    }

    var format = AnalyzeCheckpoint.format
    /// What makes two runs one run, compared key by key on resume (values as text).
    var parameters: [String: String]
    /// Inputs done, encoded and folded in or failed: positions `0..<next` of the input list.
    var next: Int
    var failures: [Failure]
    /// Rows of each committed feature chunk.
    var chunkRows: [Int]
    var analysis: LayerAnalysisSnapshot

    static func url(_ folder: URL) -> URL { folder.appendingPathComponent(fileName) }

    /// The checkpoint in `folder`, nil when there is none.
    static func read(_ folder: URL) throws -> AnalyzeCheckpoint? {
        let url = url(folder)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let checkpoint: AnalyzeCheckpoint
        do {
            checkpoint = try PropertyListDecoder().decode(AnalyzeCheckpoint.self, from: data)
        } catch {
            throw CLIError("\(url.path): not a checkpoint this version can read; add --restart to discard it")
        }
        guard checkpoint.format == format else {
            throw CLIError("\(url.path): a \(checkpoint.format) checkpoint, this version reads \(format); add --restart to discard it")
        }
        return checkpoint
    }

    /// Refuses a checkpoint of another run, naming what differs.
    func check(_ current: [String: String], in folder: URL) throws {
        let differing = Set(current.keys).union(parameters.keys).sorted().filter { current[$0] != parameters[$0] }
        guard differing.isEmpty else {
            throw CLIError("\(Self.url(folder).path): a checkpoint of another analysis (different "
                + differing.joined(separator: ", ") + "); rerun with the same options, or add --restart to discard it")
        }
    }

    /// Writes `folder/checkpoint.plist` whole or not at all, on the disk before it replaces the last one.
    func write(to folder: URL) throws {
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        try AtomicFile.write(try encoder.encode(self), to: Self.url(folder), sync: true)
        try syncToDisk(folder.path)
    }

    /// Removes the checkpoint and its feature chunks (`--restart`).
    static func discard(in folder: URL, features: URL) throws {
        let manager = FileManager.default
        do {
            if manager.fileExists(atPath: url(folder).path) { try manager.removeItem(at: url(folder)) }
            if manager.fileExists(atPath: features.path) { try manager.removeItem(at: features) }
        } catch {
            throw CLIError("\(folder.path): cannot discard the checkpoint (\(error.localizedDescription))")
        }
    }
}

/// SHA-256 (hex) of a text's UTF-8 bytes.
func textSHA256(_ text: String) throws -> String {
    var hash = try SHA256()
    Data(text.utf8).withUnsafeBytes { hash.update($0) }
    return try hash.hexDigest()
}
