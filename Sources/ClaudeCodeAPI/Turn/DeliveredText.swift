/// How much of a turn's text the client already has, and what a newer version of that text adds. Lengths only: the
/// text itself is not kept, so a long answer is not held a second time while it streams.
/// When the CLI re-streams a message after an upstream retry, the replayed prefix is not sent again.
struct DeliveredText {
    /// UTF-8 bytes sent so far.
    private(set) var count = 0

    /// The part of the turn's text so far, `length` UTF-8 bytes that end with `tail`, that the client has not seen:
    /// "" while it is no longer than what was sent (a retry still replaying). Each call's `tail` holds at least what
    /// was added since the call before (a delta; the rest of the final text), so the unseen part is always in it.
    /// The sent text is a prefix of the new text in every case the CLI produces, so the cut falls on a character
    /// boundary; it is moved back to one all the same, so that a diverging retry can never split a character.
    mutating func advance(length: Int, endingWith tail: some BidirectionalCollection<UInt8>) -> String {
        guard length > count else { return "" }
        let tailStart = length - tail.count
        var cut = tail.index(tail.startIndex, offsetBy: max(0, count - tailStart))
        while cut > tail.startIndex && (tail[cut] & 0xC0) == 0x80 { tail.formIndex(before: &cut) }  // a continuation byte
        count = length
        return String(decoding: tail[cut...], as: UTF8.self)
    }
}
