import Foundation
import SystemCalls

/// Polls `condition` every few milliseconds until it holds or `seconds` pass; true when it held. Every wait in the
/// tests goes through this, so none can hang the suite.
@discardableResult
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while !condition() {
        if Date() >= deadline { return false }
        Syscalls.sleep(milliseconds: 2)
    }
    return true
}
