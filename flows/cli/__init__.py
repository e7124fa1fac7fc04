"""The `wsad` command line (`main`): each module parses one command's options, calls a
use case or a flow, and prints; `terminal` holds what they share (the one-line error)."""
