#!/usr/bin/env bash
# GPU check: a short EDAS search, a short DARTS search and a short training of
# the found cell on synthetic CIFAR-shaped data (3x32x32, 10 classes) with a
# GPU backend, printing the card, the step times and the peak GPU memory.
# It needs only a prebuilt binary and this script (the GPU machine may have no
# registry access):
#
#   cargo build --release -p edas-cli --features cuda     # or vulkan / wgpu
#   scripts/gpu-check.sh [--bin target/release/edas] [--device cuda] [--out DIR] [--quick]
#
# Sizes: searches at DARTS' search scale (C=16, L=8, batch 64; 2 epochs of
# 2048 images split 1024/1024, the second epoch's step time is reported,
# after kernel compilation and autotuning), training at DARTS' CIFAR scale
# (C=36, L=20, batch 96, 1 epoch of 1536 images). --quick shrinks everything
# (a smoke test of the script itself, e.g. with --device cpu).
# Memory: the peak of `nvidia-smi`'s memory.used during each phase (minus the
# use before it) when nvidia-smi exists; the process's peak RSS otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release/edas
DEVICE=cuda
OUT=runs/gpu-check
QUICK=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --device) DEVICE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --quick) QUICK=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ ! -x "$BIN" ]; then
    echo "gpu-check: no edas binary at $BIN; build one with" >&2
    echo "  cargo build --release -p edas-cli --features cuda   (or vulkan, wgpu)" >&2
    exit 2
fi

if [ "$QUICK" = 1 ]; then
    S_C=8; S_L=5; S_B=16; S_N=128; S_E=2; T_C=8; T_L=5; T_B=16; T_N=64
else
    S_C=16; S_L=8; S_B=64; S_N=2048; S_E=2; T_C=36; T_L=20; T_B=96; T_N=1536
fi
mkdir -p "$OUT"

HAVE_SMI=0
if command -v nvidia-smi > /dev/null 2>&1; then HAVE_SMI=1; fi

echo "== gpu-check $(date -u +%FT%TZ)"
echo "binary: $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
echo "device: $DEVICE"
if [ "$HAVE_SMI" = 1 ]; then
    echo "card: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
fi

synthetic() {
    cat <<TOML
[data]
dataset = "synthetic"

[data.synthetic]
channels = 3
height = 32
width = 32
classes = 10
train_len = $1
test_len = $2
noise = 40.0
seed = 0
TOML
}

search_config() { # strategy
    cat <<TOML
name = "gpu-check-$1"
seed = 0
strategy = "$1"
epochs = $S_E

$(synthetic "$S_N" 256)

[loader]
train_portion = 0.5
eval_examples = 256
batch_size = $S_B
workers = 2

[network]
channels = $S_C
layers = $S_L

[regularizers]
warmup_epochs = 0
TOML
}

train_config() {
    cat <<TOML
name = "gpu-check-train"
seed = 0
epochs = 1

$(synthetic "$T_N" 512)

[loader]
batch_size = $T_B
workers = 2
cutout = true

[network]
kind = "cifar"
channels = $T_C
layers = $T_L
auxiliary = true
auxiliary_weight = 0.4
drop_path = 0.2
TOML
}

# Runs "$@" while sampling GPU memory; prints the peak above the baseline.
SAMPLER=""
measure() {
    local log="$1"; shift
    if [ "$HAVE_SMI" = 1 ]; then
        local base
        base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$log" &
        SAMPLER=$!
        "$@" > /dev/null || { kill "$SAMPLER" 2> /dev/null; return 1; }
        kill "$SAMPLER" 2> /dev/null || true
        wait "$SAMPLER" 2> /dev/null || true
        local peak
        peak=$(sort -n "$log" | tail -1)
        echo "$((peak - base))"
    else
        "$@" > /dev/null || return 1
        echo "n/a"
    fi
}
trap '[ -n "$SAMPLER" ] && kill "$SAMPLER" 2> /dev/null || true' EXIT

# The last value of a numeric JSON key in a file.
field() { grep -o "\"$2\": *[0-9.eE+-]*" "$1" | tail -1 | sed 's/.*: *//' | awk '{ printf "%.4g", $1 }'; }

declare -A STEP MEM WALL
for strategy in edas darts; do
    search_config "$strategy" > "$OUT/search-$strategy.toml"
    start=$(date +%s)
    MEM[$strategy]=$(measure "$OUT/mem-$strategy.log" \
        "$BIN" search --config "$OUT/search-$strategy.toml" --device "$DEVICE" \
        --out "$OUT/search-$strategy" --force --quiet | tail -1)
    WALL[$strategy]=$(( $(date +%s) - start ))
    STEP[$strategy]=$(field "$OUT/search-$strategy/metrics.jsonl" step_time_s)
done

train_config > "$OUT/train.toml"
start=$(date +%s)
MEM[train]=$(measure "$OUT/mem-train.log" \
    "$BIN" train --genotype "$OUT/search-edas" --config "$OUT/train.toml" --device "$DEVICE" \
    --out "$OUT/train" --force --quiet | tail -1)
WALL[train]=$(( $(date +%s) - start ))
IPS=$(field "$OUT/train/metrics.jsonl" images_per_s)

rss() { field "$1" peak_memory_mib; }
echo
echo "| phase | size | step time | throughput | GPU memory (MiB) | host peak RSS (MiB) | wall (s) |"
echo "|---|---|---|---|---|---|---|"
for s in edas darts; do
    echo "| search $s | C=$S_C L=$S_L batch $S_B | ${STEP[$s]} s | | ${MEM[$s]} | $(rss "$OUT/search-$s/metrics.jsonl") | ${WALL[$s]} |"
done
echo "| train (found cell) | C=$T_C L=$T_L batch $T_B | | $IPS img/s | ${MEM[train]} | $(rss "$OUT/train/metrics.jsonl") | ${WALL[train]} |"
echo
echo "runs: $OUT/search-edas, $OUT/search-darts, $OUT/train"
