"""Where a result came from: the hash-chained audit log (`audit`) and the git commit and
DVC data version of a run's inputs (`lineage`). Imports nothing else of ours."""
