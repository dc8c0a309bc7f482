/// The choices `vitreous repair` and the C API (`vitreous_repair_inpaint`) share, kept here once so that the
/// two front ends cannot drift apart (RegisterRepair.md, "The repair policy").
public enum RepairPolicy {
    /// How many of the last blocks' outputs decide which patches are repaired: two, because the maximum patch
    /// norm of DINOv2 drops again in the last block, so the block before it sees artifacts the last one hides.
    public static let decidingBlocks = 2

    /// The blocks (0-based) whose flags decide, for a model of `depth` blocks: the last ``decidingBlocks``.
    public static func decidingBlocks(depth: Int) -> Range<Int> { max(0, depth - decidingBlocks)..<max(depth, 0) }

    /// The patches to repair (row-major indices, ascending): those flagged in any deciding block's output.
    /// - Parameters:
    ///   - depth: the model's number of blocks.
    ///   - flagged: the flagged patches of one block's output (0-based block index).
    public static func patchesToRepair(depth: Int, flagged: (Int) throws -> [Int]) rethrows -> [Int] {
        var union = Set<Int>()
        for block in decidingBlocks(depth: depth) { union.formUnion(try flagged(block)) }
        return union.sorted()
    }

    /// The output patch tokens `[patches, dimension]` with the flagged ones inpainted as the repair does it:
    /// each becomes the mean of its unflagged 8-neighbours (``InpaintingMethod/neighbourMean``).
    /// - Throws: ``RepairError`` when the tokens do not fit the grid or an index is outside it.
    public static func inpaint(_ tokens: [Float], grid: PatchGrid, dimension: Int, flagged: [Int]) throws -> [Float] {
        try Inpainting.apply(.neighbourMean, tokens: tokens, grid: grid, dimension: dimension, flagged: flagged).tokens
    }
}
