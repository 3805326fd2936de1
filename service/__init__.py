"""Answering questions over the index, one concern per sub-package, each importing only downward or sideways:
`answering` (passages, cited answers, the pipeline) at the bottom, `chat` (follow-up resolution) beside it, `reader`
(the span reader at inference, weights in `reader/model/`) on `answering`, `training` (`qa train-reader`) on the reader,
and `api` (the HTTP edge) on `answering` and `chat`. At the top: `settings` (the `QA_` environment; a leaf that the api
and training may import), `runtime` (loads the models and index and wires them together), `app` (the FastAPI app
factory, which loads through `runtime` unless handed a pipeline) and `cli` (the `qa` command). No sub-package imports
`runtime`, `app` or `cli`; `tests/test_layout.py` holds the rule table and enforces it.
"""
