/// Text already sent to the client, and what a new version of the full text adds to it.
/// When the CLI re-streams a message after an upstream retry, the replayed prefix is not sent again.
struct DeliveredText {
    private(set) var sent: [UInt8] = []

    /// Returns the part of `candidate` the client has not seen yet ("" when it is still replaying).
    /// Both are valid UTF-8 and `sent` is a prefix of `candidate` in every case the CLI produces, so the cut
    /// falls on a character boundary; if a retry ever diverged, the client keeps what it has and gets the rest.
    mutating func advance(to candidate: [UInt8]) -> String {
        guard candidate.count > sent.count else { return "" }
        var cut = sent.count
        // Never split a UTF-8 sequence: move the cut back to the start of a scalar.
        while cut > 0 && cut < candidate.count && (candidate[cut] & 0xC0) == 0x80 { cut -= 1 }
        let added = String(decoding: candidate[cut...], as: UTF8.self)
        sent = candidate
        return added
    }
}
