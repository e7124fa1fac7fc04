"""Is the data still what the model was trained on: the reference profile (`profile`), the
GX checks of a table (`validation`) and against a reference (`reference_validation`,
`reference_check`), and drift at scoring (`drift`) and in the HTTP server's window
(`serving_drift`)."""
