"""What a user asks for, below the CLI and called by the flows too: the input checks before a
run (`preflight`), the check against the champion's reference (`champion_check`), recording
verdicts (`verdicts`) and reproducing a version (`reproduction`). They raise the components'
exceptions; the CLI turns them into one line."""
