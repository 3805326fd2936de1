#!/usr/bin/env bash
# Runs here, after train.sh on the GPU machine: rebuilds the reader's folder from the files that came back, checks the
# weights' digest, then calibrates its no-answer thresholds on this machine (faiss and the packaged MiniLM are here).
#   bash service/training/gpu/bring_back.sh FILES_AT var/reader-g1 [SQUAD_FILE ...]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bring_back.sh FILES_AT OUTPUT_DIR [SQUAD_FILE ...]" >&2; exit 2; }
from=$1 output=$2
shift 2
SQUAD_DIR=${SQUAD_DIR:-../shared/data/squad}
squad=("$@")
[ ${#squad[@]} -gt 0 ] || squad=("$SQUAD_DIR"/squad-v1.0-train.json "$SQUAD_DIR"/squad-v1.1-train.json "$SQUAD_DIR"/squad-v2.0-train.json)
for file in meta.tar.gz model.sha256 model.part-00; do
  [ -f "$from/$file" ] || { echo "$from/$file is missing: did train.sh finish? (see $from/train.log)" >&2; exit 1; }
done
[ ! -e "$output" ] || { echo "$output exists: give a new folder" >&2; exit 2; }
staging="$output.partial"
rm -rf "$staging" && mkdir -p "$staging"
tar -xzf "$from/meta.tar.gz" -C "$staging"
cat "$from"/model.part-* > "$staging/model.safetensors"
sums=$(realpath "$from/model.sha256")
(cd "$staging" && sha256sum --quiet -c "$sums") || {
  rm -rf "$staging"; echo "the weights do not match their digest: a part is missing or damaged" >&2; exit 1; }
mv "$staging" "$output"
echo "$output: weights checked; calibrating here (a few minutes on the full SQuAD files)"
"${PYTHON:-.venv/bin/python}" -m service.training.train "${squad[@]}" --calibrate-only --output "$output"
