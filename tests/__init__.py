"""The tests mirror the packages (`tests/index/`, `tests/service`'s sub-packages as `tests/api/`, `tests/reader/`, ...,
`tests/eval/`), with the shared fakes, fixtures and live-service helpers here at the top. Every folder is a package, so
pytest imports `tests.index.test_store` rather than putting `tests/` on sys.path, where `tests/index/` would stand in
for `index`; helpers are imported as `tests.fakes`.
"""
