// `claude-code-api` alone is the server; `claude-code-api keys ...` makes and hashes client keys.
ClaudeCodeAPICommand.main()
