"""What the flows run on: the settings (`config`), the offline defaults (`offline`), the
task runner (`runners`), one retrain per model (`retrain_lock`) and the Prefect console
handler (`console_handler`)."""
