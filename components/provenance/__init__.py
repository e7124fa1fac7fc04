"""Where a result came from: the hash-chained audit log (`audit`), the git commit and DVC
data version of a run's inputs (`lineage`), the md5 of a file (`digest`) and the receipt
each scoring run leaves in the audit log (`receipts`). Imports nothing else of ours."""
