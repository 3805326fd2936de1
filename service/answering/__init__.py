"""Answering: retrieval tied to an answerer. `answers` holds what every answerer works with (passages in, cited answers
out, the `Answerer` protocol), `pipeline` the `QAPipeline` that asks
the retriever and hands its passages to whichever answerer it was given. The bottom layer of `service`: it imports
`index` only, never another `service` module, so the reader, the HTTP edge and training can all build on it.
"""
