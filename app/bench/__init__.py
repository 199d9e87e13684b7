"""Benchmarks of what the user gets, driven through the same services as the app.

`data` (SQuAD/BEIR loading, a throw-away home), `metrics` (ranking metrics, SQuAD EM/F1),
`retrieval` (`localkb bench retrieval`), `qa` (`localkb bench qa`), `ingest` (`localkb bench ingest`).
"""
