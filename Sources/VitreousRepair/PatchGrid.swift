/// A patch position on the grid: row (top to bottom) and column (left to right), both from 0.
public struct GridIndex: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Row, from the top.
    public var row: Int
    /// Column, from the left.
    public var column: Int

    /// The cell at `row`, `column`.
    public init(row: Int, column: Int) {
        self.row = row
        self.column = column
    }

    /// Row-major order, the order patch tokens have in the sequence.
    public static func < (lhs: GridIndex, rhs: GridIndex) -> Bool {
        (lhs.row, lhs.column) < (rhs.row, rhs.column)
    }

    public var description: String { "(\(row), \(column))" }
}

/// The patch grid of one image: `height × width` patches stored row-major, so patch `(r, c)` is token
/// `r·width + c` of the patch block. Every grid-aware function takes one so that it never has to guess the
/// shape from a token count.
public struct PatchGrid: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Rows of patches.
    public let height: Int
    /// Columns of patches.
    public let width: Int

    /// A grid of `height × width` patches.
    /// - Throws: ``RepairError/invalidArgument(_:)`` unless both sides are positive.
    public init(height: Int, width: Int) throws {
        guard height > 0, width > 0 else {
            throw RepairError.invalidArgument("a patch grid needs positive sides, got \(height)×\(width)")
        }
        self.height = height
        self.width = width
    }

    /// Decodes a grid, with the same check as ``init(height:width:)`` (a file can hold anything).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(height: try container.decode(Int.self, forKey: .height),
                      width: try container.decode(Int.self, forKey: .width))
    }

    private enum CodingKeys: String, CodingKey { case height, width }

    /// Number of patches, `height · width`.
    public var count: Int { height * width }

    public var description: String { "\(height)×\(width) grid" }

    /// The row-major patch index of `cell`.
    public func index(of cell: GridIndex) -> Int { cell.row * width + cell.column }

    /// The cell of row-major patch index `index`.
    public func cell(at index: Int) -> GridIndex { GridIndex(row: index / width, column: index % width) }

    /// Whether `cell` lies on the grid.
    public func contains(_ cell: GridIndex) -> Bool {
        cell.row >= 0 && cell.row < height && cell.column >= 0 && cell.column < width
    }

    /// Row-major indices of the up to 8 cells around `index` that lie on the grid (edges have fewer).
    public func neighbours8(of index: Int) -> [Int] {
        let (row, column) = (index / width, index % width)
        var result: [Int] = []
        result.reserveCapacity(8)
        for dr in -1...1 {
            for dc in -1...1 where dr != 0 || dc != 0 {
                let (r, c) = (row + dr, column + dc)
                if r >= 0, r < height, c >= 0, c < width { result.append(r * width + c) }
            }
        }
        return result
    }

    /// Row-major indices of the up to 4 edge-sharing cells around `index` that lie on the grid.
    public func neighbours4(of index: Int) -> [Int] {
        let (row, column) = (index / width, index % width)
        var result: [Int] = []
        if row > 0 { result.append(index - width) }
        if column > 0 { result.append(index - 1) }
        if column + 1 < width { result.append(index + 1) }
        if row + 1 < height { result.append(index + width) }
        return result
    }

    /// Every unordered 4-neighbour pair once, `(i, j)` with `i < j`: the pairs smoothness metrics average over.
    public var neighbourPairs: [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        pairs.reserveCapacity(2 * count)
        for index in 0..<count {
            if (index % width) + 1 < width { pairs.append((index, index + 1)) }
            if index + width < count { pairs.append((index, index + width)) }
        }
        return pairs
    }

    /// Row-major indices for `cells`, sorted and without repeats.
    /// - Throws: ``RepairError/invalidArgument(_:)`` for a cell off the grid.
    public func indices(of cells: [GridIndex]) throws -> [Int] {
        for cell in cells where !contains(cell) {
            throw RepairError.invalidArgument("cell \(cell) lies outside the \(self)")
        }
        return Set(cells.map(index(of:))).sorted()
    }

    /// Checks that `indices` are valid patch indices; returns them sorted and without repeats.
    func validated(_ indices: [Int], _ what: String) throws -> [Int] {
        for index in indices where index < 0 || index >= count {
            throw RepairError.invalidArgument("\(what) holds patch index \(index), outside the \(self) (0..<\(count))")
        }
        return Set(indices).sorted()
    }

    /// Checks that `tokens` holds one `dimension`-vector per patch.
    func checkTokens(_ tokens: [Float], dimension: Int, _ what: String = "tokens") throws {
        guard dimension > 0 else { throw RepairError.invalidArgument("token dimension is \(dimension)") }
        guard tokens.count == count * dimension else {
            throw RepairError.shapeMismatch(
                "\(what) hold \(tokens.count) values, but a \(self) of dimension \(dimension) needs \(count * dimension)")
        }
    }
}
