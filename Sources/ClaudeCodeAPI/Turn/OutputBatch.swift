import HTTPCore

/// The output of the CLI events read together (one read of its stdout) goes to the client in one flush: the batch
/// opens at the first event of a read and closes once that read's lines are all handled, so an event never waits for
/// one that has not arrived yet, and a flood of events read 64 KiB at a time is not flushed event by event.
struct OutputBatch {
    let writer: any ResponseWriter
    private var isOpen = false

    init(writer: any ResponseWriter) {
        self.writer = writer
    }

    /// An event of the current read is about to be sent.
    mutating func eventArrived() {
        guard !isOpen else { return }
        isOpen = true
        writer.beginBatch()
    }

    /// The read's events are all sent: flush what they wrote.
    mutating func close() throws(ClientDisconnected) {
        guard isOpen else { return }
        isOpen = false
        try writer.endBatch()
    }
}
