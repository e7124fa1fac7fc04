"""The Prefect flows: training and release (`training`, with its reference tasks in
`reference` and the human gate in `approval`), scoring, review, and the retraining schedule
(`schedule`)."""
