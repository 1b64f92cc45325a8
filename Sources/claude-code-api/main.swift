// `claude-code-api` alone is the server, started without a parse of the command line: ArgumentParser's code and
// metadata then never become resident in the long-running process (measured: README, "Benchmark").
// `claude-code-api serve`, `keys ...` and `--help` go through ArgumentParser.
if CommandLine.arguments.count == 1 {
    do { try ServeCommand().run() } catch { ServeCommand.exit(withError: error) }
} else {
    ClaudeCodeAPICommand.main()
}
