"""The data a team brings: the records table and its contract (`tables`), the analysts'
label file (`label_file`), file checks (`files`), a new project's folders (`project`) and the
demo data (`demo`)."""
