#!/usr/bin/env bash
# The README's walkthrough with curl: upload iris, train with the defaults, follow the job, look at
# the model, predict. Stops at the first step that fails, naming it and what the API answered.
#   API=http://127.0.0.1:3000 API_KEY=<key, when API_KEYS is set> bash examples/walkthrough.sh
set -euo pipefail
API="${API:-http://127.0.0.1:3000}"
IRIS="$(dirname "${BASH_SOURCE[0]}")/../tests/fixtures/iris.csv"
AUTH=()
if [ -n "${API_KEY:-}" ]; then AUTH=(-H "Authorization: Bearer $API_KEY"); fi

# call STEP CURL-ARGS…: prints the body; on a refused connection or an HTTP error, says which step
# failed and why on stderr and stops the script.
call() {
  local step="$1" out status errors
  shift
  errors=$(mktemp)
  if ! out=$(curl -sS -w '\n%{http_code}' "${AUTH[@]}" "$@" 2>"$errors"); then
    echo "step \"$step\" failed: cannot reach $API: $(head -1 "$errors"). Is the API running (npm start)?" >&2
    rm -f "$errors"
    exit 1
  fi
  rm -f "$errors"
  status="${out##*$'\n'}"
  out="${out%$'\n'*}"
  if [ "$status" -ge 400 ]; then
    echo "step \"$step\" failed: HTTP $status: $out" >&2
    exit 1
  fi
  printf '%s\n' "$out"
}
# field NAME: the first "NAME":"value" of the JSON on stdin.
field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

# 1. Upload a dataset (raw CSV; multipart with a `file` field works too)
DATASET=$(call "upload iris" -X POST "$API/v1/datasets?name=iris" -H 'Content-Type: text/csv' \
  --data-binary @"$IRIS" | field id)
echo "dataset: $DATASET"

# 2. Train: only the dataset and the target are required; the job echoes every default it chose
JOB=$(call "submit the job" -X POST "$API/v1/training-jobs" -H 'Content-Type: application/json' \
  -d "{\"datasetId\": \"$DATASET\", \"target\": \"species\"}" | field id)
echo "job: $JOB"

# 3. Follow it until it ends (history=none: the job without its per-epoch history; or stream
#    it: curl -N "$API/v1/training-jobs/$JOB/events")
while :; do
  STATE=$(call "follow the job" "$API/v1/training-jobs/$JOB?history=none")
  STATUS=$(printf '%s' "$STATE" | field status)
  echo "$STATUS $(printf '%s' "$STATE" | grep -o '"progress":{[^}]*}')"
  case "$STATUS" in
    succeeded) break ;;
    failed | cancelled)
      echo "step \"follow the job\" failed: the job ended $STATUS: $STATE" >&2
      exit 1
      ;;
  esac
  sleep 1
done
MODEL=$(printf '%s' "$STATE" | field modelId)
call "read the model" "$API/v1/models/$MODEL" # classes, features, train/validation/test metrics

# 4. Predict from raw rows, as in the CSV
call "predict" -X POST "$API/v1/models/$MODEL/predict" -H 'Content-Type: application/json' \
  -d '{"rows": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'

# 5. The same as CSV, ready for a spreadsheet (cells that look like formulas are neutralized)
call "predict as CSV" -X POST "$API/v1/models/$MODEL/predict.csv" -H 'Content-Type: application/json' \
  -d '{"rows": [{"sepal_length": 6.7, "petal_length": 5.8}]}'

# 6. Export the model: a self-contained JSON file that POST /v1/models/import takes back anywhere
#    (?format=onnx: the whole pipeline as an ONNX graph for ONNX Runtime)
EXPORT="${TMPDIR:-/tmp}/iris-model-$MODEL.json"
call "export the model" "$API/v1/models/$MODEL/export?format=json" -o "$EXPORT"
echo "exported: $EXPORT ($(wc -c <"$EXPORT") bytes)"

# 7. Evaluate the model on labelled data (here the same file; normally new rows), beside the
#    baselines of that data (majority class, stratified random)
call "evaluate" -X POST "$API/v1/evaluations" -H 'Content-Type: application/json' \
  -d "{\"modelId\": \"$MODEL\", \"datasetId\": \"$DATASET\"}" | grep -o '"accuracy":[0-9.]*' | head -3

# 8. Score a whole file with a batch prediction, follow it, and download the result as CSV
BATCH=$(call "submit the batch prediction" -X POST "$API/v1/batch-predictions" \
  -H 'Content-Type: application/json' \
  -d "{\"modelId\": \"$MODEL\", \"datasetId\": \"$DATASET\", \"keepColumns\": [\"species\"]}" | field id)
while :; do
  BSTATUS=$(call "follow the batch prediction" "$API/v1/batch-predictions/$BATCH" | field status)
  case "$BSTATUS" in
    succeeded) break ;;
    failed | cancelled)
      echo "step \"follow the batch prediction\" failed: it ended $BSTATUS" >&2
      exit 1
      ;;
  esac
  sleep 1
done
call "download the batch result" "$API/v1/batch-predictions/$BATCH/result" | head -3
