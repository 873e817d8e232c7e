#!/usr/bin/env bash
# The main job, end to end on the default model (`make demo`; `make demo QUICK=1` for the toy
# size CI runs): build the demo dataset from its recipe, check it, fine-tune the model on it
# with LoRA in curriculum order, and evaluate the base and the fine-tuned model side by side on
# the held-out questions and prompts with the System-1 instruction.
#
#   QUICK=1     datasets/demo-quick.yaml, 16 training steps, short evaluation (~3-4 minutes)
#   OUT=DIR     where the dataset goes (default: out; the dataset is OUT/demo or OUT/demo-quick)
#   STEPS=N     training steps (default 160, QUICK 16)
#
# A rerun resumes: finished recipe steps are reused; training and evaluation run again.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/cotforge}
OUT=${OUT:-out}
if [[ "${QUICK:-0}" == 1 ]]; then
  RECIPE=datasets/demo-quick.yaml; DATA=$OUT/demo-quick; STEPS=${STEPS:-16}; EVAL_TOKENS=64
else
  RECIPE=datasets/demo.yaml; DATA=$OUT/demo; STEPS=${STEPS:-160}; EVAL_TOKENS=128
fi
TIMES=()
started=$(date +%s)
# step NAME COMMAND…: runs a command and keeps its wall time for the summary.
step() {
  local name=$1; shift
  echo "demo: == $name: $*" >&2
  local t0; t0=$(date +%s)
  "$@"
  TIMES+=("$(printf '%-28s %6ds' "$name" $(( $(date +%s) - t0 )))")
}

step "fetch model + StrongREJECT" bash -c "$BIN model fetch smollm2 && $BIN data fetch strongreject"
step "build $(basename "$RECIPE")" "$BIN" build "$RECIPE" --out "$DATA"
step "verify" "$BIN" verify "$DATA"

# Epochs per curriculum stage so that the run is about STEPS optimizer steps of one 256-token
# row each (LoRA on a 135M model trains ~100-130 tokens/s per core here).
read -r TRAIN_RECORDS VALIDATION_RECORDS < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1] + "/manifest.json"))["splits"]
print(s.get("train", {}).get("records", 0), s.get("validation", {}).get("records", 0))' "$DATA")
if (( TRAIN_RECORDS == 0 )); then
  echo "demo: $DATA has no training records (see $DATA/report.html); nothing to train on" >&2; exit 1
fi
EPOCHS=$(( (STEPS + TRAIN_RECORDS - 1) / TRAIN_RECORDS ))
VALIDATION=validation; (( VALIDATION_RECORDS > 0 )) || VALIDATION=""
step "train (LoRA, curriculum)" "$BIN" train --data "$DATA" --init smollm2 --lora r=8,alpha=16 --curriculum \
  --lr 5e-4 --epochs "$EPOCHS" --max-steps "$STEPS" --warmup $(( STEPS / 10 + 1 )) --batch-tokens 256 --context 256 \
  --validation-split "$VALIDATION" --f16 --threads 2

SUMMARY=$(mktemp)
trap 'rm -f "$SUMMARY"' EXIT
step "eval base vs fine-tuned" bash -c "$BIN eval --model smollm2 --compare '$DATA/train/model.gguf' --questions '$DATA/heldout.jsonl' \
  --instruction fast --max-tokens $EVAL_TOKENS --batch 32 --no-loss > '$SUMMARY'"

echo
echo "demo: the base model (smollm2) and the fine-tuned one ($DATA/train/model.gguf) on the held-out"
echo "questions (accuracy, reasoning tokens; System-1 instruction) and safety prompts (Safe@1):"
echo
cat "$SUMMARY"
echo
echo "wall time per step:"
printf '  %s\n' "${TIMES[@]}"
printf '  %-28s %6ds\n' "total" $(( $(date +%s) - started ))
echo
echo "dataset:    $DATA  (manifest.json, data/, mds/, rejects/, README.md)"
echo "report:     $DATA/report.html"
echo "checkpoint: $DATA/train/checkpoint  (model: $DATA/train/model.gguf, $DATA/train/hf/)"
echo "evaluation: $DATA/eval/"
