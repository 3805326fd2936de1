"""The span reader at inference: `span_reader` loads the fine-tuned model and scores answer spans over passage windows,
`spans` decodes the best token spans from its logits, `answerer` turns those spans into cited answers (the service's
one `Answerer`), and `card` writes the model card that ships in `model/` beside the weights (the default
`QA_READER_MODEL`). It imports `service.answering` for passages and citing, and nothing else from `service`: never
training, the HTTP edge or the top-level wiring.
"""

from pathlib import Path

# The shipped reader: weights, tokenizer, thresholds and card (the default QA_READER_MODEL and `qa train-reader
# --output`). Defined here, not in service.settings, so that training imports no settings machinery.
READER_MODEL_DIR = Path(__file__).parent / "model"
