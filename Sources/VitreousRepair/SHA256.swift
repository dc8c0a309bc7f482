internal import CLibCrypto

/// Streaming SHA-256 over the system's libcrypto (OpenSSL's EVP digest interface), for the weight
/// fingerprints here and, across Vitreous's modules, the dataset index's model hash and the image tests.
/// The system library rather than a bundled copy: a vendored BoringSSL cost every clean build about 95 s of
/// CPU for this one digest.
package struct SHA256: ~Copyable {
    private let context: OpaquePointer
    private var failed = false

    /// Starts an empty digest.
    /// - Throws: ``SHA256Error`` when libcrypto cannot start one (out of memory, or SHA-256 disabled by the
    ///   machine's OpenSSL configuration).
    package init() throws(SHA256Error) {
        guard let context = EVP_MD_CTX_new() else { throw SHA256Error("libcrypto: cannot allocate a digest context") }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            EVP_MD_CTX_free(context)
            throw SHA256Error("libcrypto: SHA-256 is not available (EVP_DigestInit_ex failed)")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds `bytes` to the digest.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty, !failed else { return }
        failed = EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) != 1
    }

    /// The digest of everything added, as 64 lowercase hex digits.
    /// - Throws: ``SHA256Error`` when libcrypto failed on an update or on finishing.
    package consuming func hexDigest() throws(SHA256Error) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard !failed, EVP_DigestFinal_ex(context, &digest, &length) == 1, length == 32 else {
            throw SHA256Error("libcrypto: the SHA-256 digest failed")
        }
        return digest.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }

    /// SHA-256 (hex) of `bytes` in one call.
    package static func hex(_ bytes: some Collection<UInt8>) throws(SHA256Error) -> String {
        var hash = try SHA256()
        let contiguous = Array(bytes)
        contiguous.withUnsafeBytes { hash.update($0) }
        return try hash.hexDigest()
    }
}

/// A failure of libcrypto's SHA-256, with its one-line message.
package struct SHA256Error: Error, CustomStringConvertible, Sendable {
    package let description: String
    init(_ description: String) { self.description = description }
}
