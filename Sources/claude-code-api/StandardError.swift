import SystemCalls

/// Human hints for the `keys` commands go to stderr, so that stdout carries only what a script wants.
func printToStandardError(_ text: String, terminator: String = "\n") {
    try? Syscalls.writeAll(2, Array((text + terminator).utf8))
}
