import CLAPACK

/// The `count` largest eigenvalues (descending) of the symmetric `size × size` matrix `a` (its lower triangle,
/// column-major; overwritten) and their unit eigenvectors, one after another.
func largestEigenpairs(_ a: inout [Double], size: Int, count: Int) throws -> (values: [Double], vectors: [Double]) {
    var n = Int32(size), lda = Int32(size), ldz = Int32(size)
    var il = Int32(size - count + 1), iu = Int32(size)
    var vl = 0.0, vu = 0.0, abstol = 0.0
    var found: Int32 = 0, info: Int32 = 0
    var values = [Double](repeating: 0, count: size)
    var vectors = [Double](repeating: 0, count: size * count)
    var support = [Int32](repeating: 0, count: 2 * count)
    var workSize = 0.0, iworkSize: Int32 = 0, query: Int32 = -1
    func call(_ work: inout [Double], _ lwork: inout Int32, _ iwork: inout [Int32], _ liwork: inout Int32) {
        dsyevr_("V", "I", "L", &n, &a, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &vectors, &ldz,
                &support, &work, &lwork, &iwork, &liwork, &info, 1, 1, 1)
    }
    var queryWork = [workSize], queryIwork = [iworkSize], queryIworkCount = query
    call(&queryWork, &query, &queryIwork, &queryIworkCount)
    guard info == 0 else { throw RepairError.invalidArgument("LAPACK dsyevr workspace query failed (info \(info))") }
    workSize = queryWork[0]
    iworkSize = queryIwork[0]
    var lwork = Int32(workSize.rounded(.up)), liwork = iworkSize
    var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
    call(&work, &lwork, &iwork, &liwork)
    guard info == 0, found == Int32(count) else {
        throw RepairError.invalidArgument("LAPACK dsyevr failed (info \(info), \(found) of \(count) eigenpairs)")
    }
    // Ascending from LAPACK; largest first here.
    let order = (0..<count).reversed()
    return (order.map { values[$0] }, order.flatMap { vectors[($0 * size)..<(($0 + 1) * size)] })
}
