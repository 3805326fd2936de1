#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with .gpu/ carried (see README.md beside this file):
#   ARGS='--base-model service/reader/model --epochs 2 ...' bash service/training/gpu/train.sh
# Installs the kit's wheels, unpacks its SQuAD files, runs tests/training/test_gpu.py, trains with --device cuda
# --skip-calibration, and writes into $OUT what the device tool brings back (at most 8 files of 16 MiB):
# gpu-tests.log, train.log, meta.tar.gz (the reader's folder but its weights), model.sha256, model.part-NN.
set -euo pipefail
KIT=${KIT:-.gpu}
DEVICE=${DEVICE:-cuda}
: "${OUT:?set OUT to the folder that comes back}"
[ -f "$KIT/squad.tar.xz" ] || { echo "$KIT/squad.tar.xz is missing: build the kit (make_kit.sh) and carry $KIT" >&2; exit 2; }
site=$(mktemp -d)
if compgen -G "$KIT/wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$KIT"/wheels/*.whl
fi
export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
data=$(mktemp -d) && work=$(mktemp -d)
tar -xJf "$KIT/squad.tar.xz" -C "$data"
if [ "$DEVICE" = cuda ]; then
  # A failing check is reported, not fatal: the weights are judged here on the CPU anyway, and the call is costly.
  python3 -m pytest -q --noconftest -p no:cacheprovider tests/training/test_gpu.py 2>&1 | tee "$OUT/gpu-tests.log" ||
    echo "the GPU tests failed (gpu-tests.log); training anyway"
fi
# shellcheck disable=SC2086  # ARGS is a list of options
python3 -m service.training.train "$data"/*.json --device "$DEVICE" --skip-calibration \
  --output "$work/reader" --checkpoints "$work/checkpoints" ${ARGS:-} 2>&1 | tee "$OUT/train.log"
cd "$work/reader"
sha256sum model.safetensors > "$OUT/model.sha256"
split -b 15M -d model.safetensors "$OUT/model.part-"
tar -czf "$OUT/meta.tar.gz" --exclude model.safetensors .
ls -l "$OUT"
