import ArgumentParser
import Foundation
import VitreousImage

/// The images a command runs on, and what happens to outputs that already exist.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("""
        Images and folders of images, any number (shell globs work). Formats are told by content, not by \
        name: PNG, JPEG, WebP. Folders are searched recursively; hidden files and folders are skipped; other files \
        that are not images (by content and name) are counted.
        """, valueName: "input"))
    var inputs: [String] = []

    @Option(name: .long, help: ArgumentHelp("""
        Also read inputs from this file: one path per line (relative to the current folder), '-' for stdin.
        """, valueName: "list"))
    var filesFrom: String?

    @Flag(name: .long, inversion: .prefixedNo, help: "Search folders recursively.")
    var recursive = true

    @Flag(name: .long, help: """
        Turn images upright by their EXIF orientation tag. Off by default: torchvision's and transformers' \
        loaders (Image.open(f).convert("RGB")) do not apply it, and features should match theirs.
        """)
    var exifOrientation = false

    @Flag(name: .long, help: "Print one JSON object on stdout at the end (counts, failed inputs and their errors).")
    var json = false

    @Flag(name: .long, help: "Replace outputs that already exist.")
    var overwrite = false

    @Flag(name: .long, help: "Skip images whose outputs already exist.")
    var skipExisting = false

    func validate() throws {
        guard !(overwrite && skipExisting) else { throw ValidationError("--overwrite and --skip-existing exclude each other") }
        guard !inputs.isEmpty || filesFrom != nil else {
            throw ValidationError("name at least one image or folder (or --files-from LIST)")
        }
    }

    var readOptions: ImageReadOptions { ImageReadOptions(applyEXIFOrientation: exifOrientation) }

    /// Every input image, sorted by path, each with the output name it gets.
    func collect() throws -> InputSet {
        var arguments = inputs
        if let filesFrom { arguments += try listedPaths(filesFrom) }
        let found = try InputSet(arguments, recursive: recursive)
        guard !found.images.isEmpty else {
            let named = arguments.count == 1 ? arguments[0] : "the \(arguments.count) inputs"
            throw CLIError("\(named): no PNG, JPEG or WebP images"
                + (found.notImages.isEmpty ? "" : " (\(found.notImages.count) other files)"))
        }
        return found
    }
}

/// One input image and the name its outputs take: its path relative to the folder named on the command
/// line, without the extension (`photos/sub/a.jpg` named through `photos` → `sub/a`).
struct InputImage: Equatable {
    let path: String
    let name: String
    /// The path relative to the folder named on the command line, extension kept (a file named directly: its name).
    var relative: String = ""
}

/// The images the inputs name, and how many files in their folders were passed over.
struct InputSet {
    var images: [InputImage]
    /// Files in the folders that are not PNG, JPEG or WebP (by content).
    var notImages: [String]

    init(_ arguments: [String], recursive: Bool) throws {
        var found: [(path: String, relative: String)] = []
        var notImages: [String] = []
        var seen = Set<String>()
        for argument in arguments where !argument.isEmpty {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isFolder) else {
                throw CLIError("\(argument): no such file or folder")
            }
            if !isFolder.boolValue {
                // A file named on the command line is always tried: if it is not an image, that is an error.
                let key = URL(fileURLWithPath: argument).standardizedFileURL.path
                if seen.insert(key).inserted { found.append((argument, (argument as NSString).lastPathComponent)) }
                continue
            }
            for relative in try folderFiles(argument, recursive: recursive) {
                let path = (argument as NSString).appendingPathComponent(relative)
                let key = URL(fileURLWithPath: path).standardizedFileURL.path
                guard seen.insert(key).inserted else { continue }
                // Content decides what a file is; a name that promises an image makes a file that is not one
                // a failure to report (corrupt, truncated, mislabelled) rather than a file to pass over.
                if isImageFile(path) || hasImageExtension(path) { found.append((path, relative)) } else { notImages.append(path) }
            }
        }
        found.sort { $0.path < $1.path }
        images = uniqueNames(found)
        self.notImages = notImages.sorted()
    }
}

/// The output names of `found` (sorted by path): the relative path without extension, or with it where two
/// inputs would share a name, ignoring case (`a.png`, `A.jpg`), then `~2`, `~3`… for what still collides.
private func uniqueNames(_ found: [(path: String, relative: String)]) -> [InputImage] {
    let stems = found.map { ($0.relative as NSString).deletingPathExtension }
    var counts: [String: Int] = [:]
    for stem in stems { counts[stem.lowercased(), default: 0] += 1 }
    var taken = Set<String>()
    var images: [InputImage] = []
    for (index, file) in found.enumerated() {
        var name = counts[stems[index].lowercased()] ?? 0 > 1 ? file.relative : stems[index]
        var candidate = name, suffix = 2
        while taken.contains(candidate) {
            candidate = "\(name)~\(suffix)"
            suffix += 1
        }
        name = candidate
        taken.insert(name)
        images.append(InputImage(path: file.path, name: name, relative: file.relative))
    }
    return images
}

/// The regular files under `folder` (relative paths), hidden ones and hidden folders left out. A folder
/// reached twice through symbolic links (a loop) is listed once.
private func folderFiles(_ folder: String, recursive: Bool) throws -> [String] {
    var visited = Set<String>()
    return try folderFiles(folder, recursive: recursive, visited: &visited)
}

private func folderFiles(_ folder: String, recursive: Bool, visited: inout Set<String>) throws -> [String] {
    let manager = FileManager.default
    guard visited.insert(URL(fileURLWithPath: folder).resolvingSymlinksInPath().path).inserted else { return [] }
    let names: [String]
    do {
        names = try manager.contentsOfDirectory(atPath: folder)
    } catch {
        throw CLIError("\(folder): cannot list the folder (\(error.localizedDescription))")
    }
    var files: [String] = []
    for name in names.sorted() where !name.hasPrefix(".") {
        let path = (folder as NSString).appendingPathComponent(name)
        var isFolder: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isFolder) else { continue }  // a dangling link
        if isFolder.boolValue {
            if recursive {
                files += try folderFiles(path, recursive: true, visited: &visited)
                    .map { (name as NSString).appendingPathComponent($0) }
            }
        } else {
            files.append(name)
        }
    }
    return files
}

/// Whether the name ends like an image file's.
func hasImageExtension(_ path: String) -> Bool {
    ["png", "jpg", "jpeg", "jpe", "jfif", "webp"].contains((path as NSString).pathExtension.lowercased())
}

/// Whether the file starts like a PNG, JPEG or WebP file.
func isImageFile(_ path: String) -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    let head = (try? handle.read(upToCount: 16)) ?? Data()
    return ImageFormat(signature: head) != nil
}

/// The paths of a `--files-from` list: one per line, blank lines ignored; `-` reads stdin.
func listedPaths(_ list: String) throws -> [String] {
    let data: Data
    if list == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = FileManager.default.contents(atPath: list) else {
            throw CLIError("--files-from \(list): cannot read the file")
        }
        data = contents
    }
    return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
        .map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// Which images of a run still need their outputs written: stops with an error naming the first existing
/// output unless `--overwrite` (write anyway) or `--skip-existing` (leave those images out).
func imagesToRun(_ images: [InputImage], options: InputOptions,
                 outputs: (InputImage) -> [URL]) throws -> (run: [InputImage], skipped: Int) {
    if options.overwrite { return (images, 0) }
    var run: [InputImage] = []
    for image in images {
        guard let existing = outputs(image).first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            run.append(image)
            continue
        }
        guard options.skipExisting else {
            throw CLIError("\(existing.path) exists (from \(image.path)); use --overwrite to replace or "
                + "--skip-existing to skip such images")
        }
    }
    return (run, images.count - run.count)
}
