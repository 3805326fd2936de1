#!/usr/bin/env bash
# Builds .gpu/, what a GPU machine lent through the device tool needs beside the tracked files to train the reader:
# the SQuAD files (compressed) and the wheels of the training packages its image lacks (bm25s, PyStemmer, pysbd).
# Run here, from the repository root: bash service/training/gpu/make_kit.sh  (see README.md beside this file).
set -euo pipefail
SQUAD_DIR=${SQUAD_DIR:-../shared/data/squad}
KIT=.gpu
LIMIT_MIB=64  # what may travel in one call: tracked files, untracked files git does not ignore, carried paths
PACKAGES=(bm25s==0.3.16 PyStemmer==3.1.0 pysbd==0.3.4)  # the versions this project pins and tests

[ -f pyproject.toml ] && [ -d service/training ] || { echo "run from the repository root" >&2; exit 2; }
files=("$SQUAD_DIR"/squad-v1.0-train.json "$SQUAD_DIR"/squad-v1.1-train.json "$SQUAD_DIR"/squad-v2.0-train.json)
for file in "${files[@]}"; do
  [ -f "$file" ] || { echo "$file is missing: set SQUAD_DIR to the folder of the SQuAD files" >&2; exit 2; }
done
rm -rf "$KIT.tmp" && mkdir -p "$KIT.tmp/wheels"
echo "compressing the SQuAD files (about a minute)"
tar -cJf "$KIT.tmp/squad.tar.xz" -C "$SQUAD_DIR" "${files[@]##*/}"
echo "fetching the wheels for the GPU machine's Python 3.12"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$KIT.tmp/wheels" "${PACKAGES[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
rm -rf "$KIT" && mv "$KIT.tmp" "$KIT"
tracked=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
kit=$(du -sb "$KIT" | cut -f1)
total=$(( (tracked + kit) / 1048576 ))
echo "$KIT: $(( kit / 1048576 )) MiB; with the working tree $total MiB of the $LIMIT_MIB MiB a call may carry"
if [ "$total" -ge "$LIMIT_MIB" ]; then
  echo "too much would travel: remove untracked files from the working tree" >&2; exit 1
fi
