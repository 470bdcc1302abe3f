#!/usr/bin/env bash
# GPU check: step times and peak GPU memory of edas's search and training
# steps on every GPU backend the binary has, next to PyTorch on the same
# network, in one call. Synthetic CIFAR-shaped data (3x32x32, 10 classes).
#
#   cargo xtask gpu-kit                       # here: builds target/gpu-kit (edas, this script, loaders)
#   target/gpu-kit/gpu-check.sh [--out DIR]   # there: one call
#   scripts/gpu-check.sh --bin target/release/edas --devices "cuda"   # from a checkout
#
# Options:
#   --bin FILE        the edas binary (default: the kit's, else target/release/edas)
#   --devices "D..."  devices to measure (default: tch-cuda vulkan when nvidia-smi
#                     works, else cpu tch); a device the binary lacks is reported, not fatal
#   --python PY       Python with torch for the PyTorch row and LibTorch's libraries
#                     (default: /opt/torch/.venv/bin/python, python3)
#   --out DIR         where the table (gpu-check.md), JSON lines and the log go
#                     (default: $OUT, else runs/gpu-check)
#   --quick           tiny sizes, for a smoke test of the script on a CPU
#   --case-timeout S  seconds per case (default 100)
#   --budget S        start no case after S seconds (default 420), so the whole
#                     check ends within about S + case-timeout seconds
# Cases per device: the EDAS, GDAS and DARTS search steps (C=16 L=8 batch 64),
# EDAS at L=20, and DARTS_V2's training step (C=36 L=20 batch 96, auxiliary
# head, drop-path 0.2, SGD); then a short `edas search` and `edas train` run
# end to end. Each step case: 2 warm-up steps (kernel compilation, autotuning),
# median of 5 synchronised steps. GPU memory: the peak of nvidia-smi's
# memory.used while the case runs, minus the use before it (whole process:
# allocator caches included, as PyTorch's is).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

BIN=""
DEVICES=""
PY=""
DEST="${OUT:-}"
QUICK=0
CASE_TIMEOUT=100
BUDGET=420
START=$(date +%s)
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --devices|--device) DEVICES=$2; shift 2 ;;
        --python) PY=$2; shift 2 ;;
        --out) DEST=$2; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --case-timeout) CASE_TIMEOUT=$2; shift 2 ;;
        --budget) BUDGET=$2; shift 2 ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The kit holds edas.xz, torch_darts.py (with darts_model.py) and gl/ beside this script; a
# checkout holds them under target/release and bench/.
if [ -z "$BIN" ]; then
    if [ -f "$HERE/edas.xz" ]; then
        BIN=$WORK/edas
        if command -v xz > /dev/null; then xz -dc "$HERE/edas.xz" > "$BIN"
        else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$HERE/edas.xz" "$BIN"; fi
        chmod +x "$BIN"
    else
        BIN=$HERE/../target/release/edas
    fi
fi
TORCH_SCRIPT=$HERE/torch_darts.py
[ -f "$TORCH_SCRIPT" ] || TORCH_SCRIPT=$HERE/../bench/torch_darts.py
if [ ! -x "$BIN" ]; then
    echo "gpu-check: no edas binary at $BIN; build the kit with \`cargo xtask gpu-kit\`" >&2
    exit 2
fi
if [ -z "$PY" ]; then
    if [ -x /opt/torch/.venv/bin/python ]; then PY=/opt/torch/.venv/bin/python; else PY=python3; fi
fi
[ -n "$DEST" ] || DEST=runs/gpu-check
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
LOG=$DEST/gpu-check.log
JSON=$DEST/gpu-check.jsonl
TABLE=$DEST/gpu-check.md
: > "$LOG"; : > "$JSON"

HAVE_SMI=0
if nvidia-smi > /dev/null 2>&1; then HAVE_SMI=1; fi
if [ -z "$DEVICES" ]; then
    if [ "$HAVE_SMI" = 1 ]; then DEVICES="tch-cuda vulkan"; else DEVICES="cpu tch"; fi
fi
if [ "$QUICK" = 1 ]; then
    S_B=4; T_C=8; T_L=5; T_B=4; STEPS=1; WARM=1; TRAIN_CASE=train-c8-l5
else
    S_B=64; T_C=36; T_L=20; T_B=96; STEPS=5; WARM=2; TRAIN_CASE=train-c36-l20
fi

log() { echo "$*" | tee -a "$LOG"; }
log "== gpu-check $(date -u +%FT%TZ) on $(hostname)"
log "devices: $DEVICES"
if [ "$HAVE_SMI" = 1 ]; then
    CARD=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
    log "card: $CARD"
else
    CARD="no NVIDIA GPU ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) threads)"
    log "card: $CARD"
fi

# LibTorch: the `tch` backend loads the libraries of the torch that $PY has
# (the binary is linked against torch 2.11.0 without a run path).
TORCH_LIB=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2> /dev/null)
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)' 2> /dev/null)
if [ -n "$TORCH_LIB" ]; then
    export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    log "torch: $TORCH_VERSION ($TORCH_LIB)"
else
    log "torch: not found with $PY (the tch devices and the PyTorch row will fail)"
fi
# (After LibTorch is on the library path: the binary links it.)
log "binary: $BIN ($("$BIN" --version 2>&1 | head -1))"

# Vulkan: the kit carries the loader (Debian's libvulkan1) for machines
# without one; unpacked into / only when none is installed and we are root.
if [[ " $DEVICES " == *" vulkan"* ]] && ! ldconfig -p 2> /dev/null | grep -q 'libvulkan.so.1'; then
    if [ -d "$HERE/gl" ] && [ "$(id -u)" = 0 ]; then
        for f in "$HERE"/gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
        log "vulkan: installed the loader from $HERE/gl"
    else
        log "vulkan: no loader (libvulkan.so.1) on this machine"
    fi
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

# Runs "$@" under the case timeout while sampling GPU memory; sets MEM (MiB
# above the baseline, or n/a) and RC.
SAMPLER=""
trap '[ -n "$SAMPLER" ] && kill "$SAMPLER" 2> /dev/null; rm -rf "$WORK"' EXIT
measure() {
    local out=$1; shift
    MEM=n/a
    if [ "$HAVE_SMI" = 1 ]; then
        local base
        base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$WORK/mem" 2> /dev/null &
        SAMPLER=$!
    fi
    timeout "$CASE_TIMEOUT" "$@" > "$out" 2>> "$LOG"
    RC=$?
    if [ -n "$SAMPLER" ]; then
        kill "$SAMPLER" 2> /dev/null; wait "$SAMPLER" 2> /dev/null; SAMPLER=""
        local peak
        peak=$(sort -n "$WORK/mem" | tail -1)
        [ -n "$peak" ] && MEM=$((peak - base))
    fi
}

# A numeric JSON field of the last JSON line of a file.
field() { grep '^{' "$1" | tail -1 | grep -o "\"$2\": *[0-9.eE+-]*" | head -1 | sed 's/.*: *//'; }
fmt() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.4g", v }' || echo "-"; }

# "; forward/backward/update A/B/C s" for a training step's JSON line.
phases() {
    local f b u
    f=$(field "$1" forward_s); b=$(field "$1" backward_s); u=$(field "$1" update_s)
    [ -n "$f" ] && [ -n "$b" ] && echo "; forward/backward/update $(fmt "$f")/$(fmt "$b")/$(fmt "$u") s"
}

ROWS=()
# The table so far, rewritten after every row (a killed check keeps its rows).
write_table() {
    {
        echo "card: $CARD"
        echo "binary: $("$BIN" --version 2>&1 | head -1); torch: ${TORCH_VERSION:-none}; $(date -u +%FT%TZ)"
        echo
        echo "| device | case | batch | median step (s) | images/s | first step or wall (s) | GPU memory (MiB) | result |"
        echo "|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${ROWS[@]}"
    } > "$TABLE"
}
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 | $8 |"); write_table; }
# A failed case: its exit status and the last line the log got.
failure() {
    if [ "$RC" = 124 ]; then echo "timed out after ${CASE_TIMEOUT} s"; else
        echo "failed (exit $RC): $(grep -v '^\s*$' "$LOG" | tail -1 | cut -c1-160 | tr '|' '/')"; fi
}

over_budget() { [ $(( $(date +%s) - START )) -gt "$BUDGET" ]; }

bench_case() { # device case batch
    local dev=$1 case=$2 batch=$3
    if over_budget; then RC=skipped; row "$dev" "$case" "$batch" - - - - "skipped: past --budget $BUDGET s"; return; fi
    log "-- $dev $case batch $batch"
    measure "$WORK/out" "$BIN" bench "$case" --batch "$batch" --steps "$STEPS" --warmup "$WARM" --device "$dev"
    if [ "$RC" = 0 ]; then
        cat "$WORK/out" | tee -a "$LOG" >> "$JSON"
        local med first
        med=$(field "$WORK/out" median_step_s); first=$(field "$WORK/out" first_step_s)
        row "$dev" "$case" "$batch" "$(fmt "$med")" "$(fmt "$(awk -v b="$batch" -v m="$med" 'BEGIN { print b / m }')")" \
            "$(fmt "$first")" "$MEM" "ok$(phases "$WORK/out")"
    else
        row "$dev" "$case" "$batch" - - - "$MEM" "$(failure)"
    fi
}

synthetic() { # train_len test_len
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

e2e() { # device: a short search and training through the real commands
    local dev=$1 d=$WORK/e2e-$1
    mkdir -p "$d"
    cat > "$d/search.toml" <<TOML
name = "gpu-check-search"
seed = 0
strategy = "edas"
epochs = 1

$(synthetic 256 64)

[loader]
train_portion = 0.5
eval_examples = 64
batch_size = 32
workers = 2

[network]
channels = 8
layers = 5

[regularizers]
warmup_epochs = 0
TOML
    cat > "$d/train.toml" <<TOML
name = "gpu-check-train"
seed = 0
epochs = 1

$(synthetic 128 64)

[loader]
batch_size = 32
workers = 2
cutout = true

[network]
kind = "cifar"
channels = 8
layers = 5
auxiliary = true
auxiliary_weight = 0.4
drop_path = 0.2
TOML
    if over_budget; then row "$dev" "edas search + train" 32 - - - - "skipped: past --budget $BUDGET s"; return; fi
    log "-- $dev edas search + edas train (C=8 L=5, 128+128 images, 1 epoch each)"
    local t0 t1
    t0=$(date +%s.%N)
    measure "$WORK/out" "$BIN" search --config "$d/search.toml" --device "$dev" --out "$d/search" --force --quiet
    if [ "$RC" != 0 ]; then row "$dev" "edas search (1 epoch)" 32 - - - "$MEM" "$(failure)"; return; fi
    t1=$(date +%s.%N)
    row "$dev" "edas search (1 epoch, wall)" 32 - - "$(fmt "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")" "$MEM" \
        "ok: genotype.json written"
    t0=$(date +%s.%N)
    measure "$WORK/out" "$BIN" train --genotype "$d/search" --config "$d/train.toml" --device "$dev" --out "$d/train" --force --quiet
    if [ "$RC" != 0 ]; then row "$dev" "edas train (1 epoch)" 32 - - - "$MEM" "$(failure)"; return; fi
    t1=$(date +%s.%N)
    row "$dev" "edas train (1 epoch, wall)" 32 - - "$(fmt "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")" "$MEM" \
        "ok: test top-1 $(fmt "$(field "$d/train/metrics.jsonl" top1)")"
}

# PyTorch on the same DARTS_V2 network and step (forward, backward, SGD).
TDEV=cpu
if [ "$HAVE_SMI" = 1 ]; then TDEV=cuda; fi
log "-- pytorch $TDEV train-c$T_C-l$T_L batch $T_B"
measure "$WORK/out" "$PY" "$TORCH_SCRIPT" "$T_C" "$T_B" "$STEPS" --layers "$T_L" --train --warmup "$WARM" --device "$TDEV"
if [ "$RC" = 0 ]; then
    grep '^{' "$WORK/out" | tee -a "$LOG" >> "$JSON"
    med=$(field "$WORK/out" median_step_s)
    row "pytorch $TDEV" "$TRAIN_CASE" "$T_B" "$(fmt "$med")" "$(fmt "$(awk -v b="$T_B" -v m="$med" 'BEGIN { print b / m }')")" \
        "$(fmt "$(field "$WORK/out" first_step_s)")" "$MEM" "ok$(phases "$WORK/out") (torch $TORCH_VERSION$(alloc=$(field "$WORK/out" cuda_max_allocated_mib); [ -n "$alloc" ] && echo "; CUDA max allocated $(fmt "$alloc") MiB"))"
else
    row "pytorch $TDEV" "$TRAIN_CASE" "$T_B" - - - "$MEM" "$(failure)"
fi

for dev in $DEVICES; do
    bench_case "$dev" edas-l8 "$S_B"
    if [ "$RC" != 0 ] && tail -3 "$LOG" | grep -q -e 'built without' -e 'unknown device'; then
        log "   skipping $dev: not in this binary"
        continue
    fi
    bench_case "$dev" gdas-l8 "$S_B"
    bench_case "$dev" darts-l8 "$S_B"
    bench_case "$dev" pc-darts-l8 "$S_B"
    bench_case "$dev" edas-l20 "$S_B"
    bench_case "$dev" "$TRAIN_CASE" "$T_B"
    e2e "$dev"
done

write_table
echo
cat "$TABLE"
echo
echo "table: $TABLE; JSON lines: $JSON; log: $LOG"
