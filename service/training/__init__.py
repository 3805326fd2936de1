"""Training the span reader (`qa train-reader`): `data` turns SQuAD questions into windows and targets, `synthetic`
makes the warm-up cloze questions and unanswerable examples (finding typed spans with `candidates` and
`answer_types`), `stages` runs the training loop (on the device `device` picks), `checkpoint` saves and resumes it, `calibration` sets the no-answer
thresholds, and `train` ties them together and writes the reader, with its card, to `service/reader/model/`. It builds
on the layers below: the reader, `service.answering` (calibration answers through a `QAPipeline`), `service.settings`
and `index`; from `eval` only the leaf modules `squad`, `metrics` and `datasets`. Nothing below imports training.
"""
