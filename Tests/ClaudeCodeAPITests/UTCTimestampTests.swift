import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("UTC timestamps without a calendar")
struct UTCTimestampTests {
    /// Moments whose fraction of a second is exact in binary (eighths), so that no rounding of the Double decides a
    /// millisecond: around the epoch, leap days, centuries, and random ones from 1900 to 2100.
    static let moments: [Double] = [0, -1, -0.5, 0.125, 0.875, 59.875, 86_399.875, 86_400, 951_782_400 /* 2000-02-29 */,
                                    4_107_542_399.875 /* 2100-02-28T23:59:59.875 */, 1_765_000_000.25, -2_208_988_800 /* 1900 */,
                                    253_402_300_799 /* 9999-12-31T23:59:59 */]
        + (0..<200).map { _ in Double(Int.random(in: -2_208_988_800...4_102_444_800)) + Double(Int.random(in: 0..<8)) / 8 }

    @Test("the log's timestamp is Foundation's ISO 8601 text with milliseconds, in UTC", arguments: moments)
    func millisecondsMatchFoundation(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let foundation = date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        #expect(UTCTimestamp.iso8601(date, includingMilliseconds: true) == foundation)
    }

    @Test("whole seconds are Foundation's default ISO 8601 text", arguments: moments)
    func secondsMatchFoundation(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(UTCTimestamp.iso8601(date) == date.formatted(.iso8601))
    }
}
