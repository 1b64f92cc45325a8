/// The last `capacity` samples of a duration, and their percentiles (nearest rank), for `/status`'s recent latency.
struct LatencyWindow: Sendable {
    let capacity: Int
    private var samples: [UInt64] = []
    private var next = 0

    init(capacity: Int) {
        self.capacity = capacity
        samples.reserveCapacity(capacity)
    }

    var count: Int { samples.count }

    mutating func add(_ nanoseconds: UInt64) {
        if samples.count < capacity {
            samples.append(nanoseconds)
        } else {
            samples[next] = nanoseconds
        }
        next = (next + 1) % capacity
    }

    /// p50, p90 and p99 in whole milliseconds; nil without samples.
    var percentiles: StatusReport.Percentiles? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        func rank(_ p: Int) -> Int {
            let index = (sorted.count * p + 99) / 100 - 1  // nearest rank: ceil(p% of n), 1-based
            return Int(sorted[max(0, min(sorted.count - 1, index))] / 1_000_000)
        }
        return StatusReport.Percentiles(p50: rank(50), p90: rank(90), p99: rank(99))
    }
}
