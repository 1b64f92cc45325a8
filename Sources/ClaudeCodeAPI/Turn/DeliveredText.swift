/// How much of a turn's text the client already has, and what a newer version of that text adds.
/// When the CLI re-streams a message after an upstream retry, the replayed prefix is not sent again.
struct DeliveredText {
    /// UTF-8 bytes sent so far.
    private(set) var count = 0

    /// Returns the part of `committed + current` (the turn's text so far, in two pieces so that nothing is copied
    /// on every delta) that the client has not seen: "" while a retry is still replaying what it has.
    /// The sent text is a prefix of the new text in every case the CLI produces, so the cut falls on a character
    /// boundary; it is moved back to one all the same, so that a diverging retry can never split a character.
    mutating func advance(committed: [UInt8], current: [UInt8] = []) -> String {
        let total = committed.count + current.count
        guard total > count else { return "" }
        func byte(_ index: Int) -> UInt8 { index < committed.count ? committed[index] : current[index - committed.count] }
        var cut = count
        while cut > 0 && (byte(cut) & 0xC0) == 0x80 { cut -= 1 }  // a UTF-8 continuation byte
        var added: [UInt8] = []
        added.reserveCapacity(total - cut)
        if cut < committed.count {
            added += committed[cut...]
            added += current
        } else {
            added += current[(cut - committed.count)...]
        }
        count = total
        return String(decoding: added, as: UTF8.self)
    }
}
