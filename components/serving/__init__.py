"""Scoring with a released model: batch scoring of a file (`batch`), the HTTP app of
`wsad serve-model` (`http_app`), its request handling (`invocations`) and its Prometheus
metrics (`metrics`)."""
