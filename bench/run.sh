#!/usr/bin/env bash
# Runs the SimdLstm benchmark suite (cells, hardware limit) and the peers (ONNX Runtime, libtorch), and writes the
# tracked results page bench/results/<cpu-model-slug>.md with the raw BenchmarkDotNet CSV/JSON in
# bench/results/<cpu-model-slug>/.
#
# Usage (from anywhere):
#   bench/run.sh                         full run: BenchmarkDotNet's default job, every size, peers included
#   bench/run.sh --quick                 short job (3 warm-ups, 3 iterations, 1 launch): minutes, noisier
#   bench/run.sh --sizes 64,256          only these I = H (any mode)
#   bench/run.sh --no-peers              SimdLstm and the limits only (no ONNX Runtime / TorchSharp restore)
#   bench/run.sh --notes "text"          a note for the results page
#   bench/run.sh --compare OLD           run, then compare with OLD (a results .md — its raw folder is used —, a
#                                        BenchmarkDotNet full JSON, or a folder of them); exit 1 when a case is slower
#                                        beyond the measured noise. The new run goes to a temporary folder and does
#                                        not replace the committed results.
#   bench/run.sh --noise-floor 0.05      smallest relative change --compare treats as real (default 0.05)
#   bench/run.sh --shapes-only           only the sequence-shape cases (bidirectional, per-stream lengths: ours, ONNX
#                                        Runtime's and libtorch's, one thread) with the hardware limit; the page goes to
#                                        bench/results/sequence-shapes/ unless --out says otherwise, never over the
#                                        committed full page
#   bench/run.sh --precision-only        only the packed batch-1 step at fp32, bf16 and int8 weights (LSTM and GRU), the
#                                        read bandwidth at each of their working sets, and ONNX Runtime's int8
#                                        DynamicQuantizeLSTM step (checked first within a derived bound, exit 3 when
#                                        not); the page goes to bench/results/precision/ unless --out says otherwise
#   bench/run.sh --out DIR               write the page to DIR/<cpu-model-slug>.md and the raw exports to
#                                        DIR/<cpu-model-slug>/ (default bench/results)
#
# The sequence-shape cases (…SequenceShapeBench, and the peers' …BidirectionalBench) run in a summary of their own after
# the cell cases; with --quick their iterations are 250 ms instead of 500 ms, which keeps the 110 cases near 10 minutes.
#
# Nothing is pinned: pinned to one core, the runtime's background JIT thread (which moves hot methods to optimised code)
# shares that core with the benchmark and gets too little of it, so some cases were measured on unoptimised code (10x
# outliers). The one-thread cases are single-threaded (libtorch and ONNX Runtime are told to use one thread); the
# …TwoThreads cases and libtorch's all-cores case use both cores. libtorch needs
# bash ../shared/tools/torchsharp-debian12.sh on Debian 12 (libstdc++ 12): it is applied when found; a peer that cannot
# load prints "peer unavailable: <name> <cell>: <reason>" and the run goes on. A peer that loads but disagrees with
# SimdLstm prints "peer check FAILED: ..." and stops the run (exit 3) before any peer is timed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

quick=0 peers=1 compare="" sizes="" notes="" floor=0.05 shapes_only=0 precision_only=0 outdir=""
command="bench/run.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-peers) peers=0 ;;
    --sizes) sizes=$2; shift ;;
    --notes) notes=$2; shift ;;
    --compare) compare=$2; shift ;;
    --noise-floor) floor=$2; shift ;;
    --shapes-only) shapes_only=1 ;;
    --out) outdir=$2; shift ;;
    --precision-only) precision_only=1 ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$sizes" ] && export SIMDLSTM_BENCH_SIZES=$sizes
if [ "$shapes_only" -eq 1 ] && [ "$precision_only" -eq 1 ]; then
  echo "run.sh: --shapes-only and --precision-only are separate runs; pick one" >&2; exit 2
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: *//' || true)
[ -n "$cpu" ] || cpu=$(uname -m)
slug=$(echo "$cpu" | tr 'A-Z' 'a-z' | sed -E 's/\((r|tm)\)//g; s/[^a-z0-9]+/-/g; s/^-+|-+$//g')

raw_two=()
raw_shapes=()
job=()
[ "$quick" -eq 1 ] && job=(--job short)
shapes_job=("${job[@]}")
[ "$quick" -eq 1 ] && shapes_job+=(--iterationTime 250)
if [ -z "$outdir" ]; then
  outdir=bench/results
  [ "$shapes_only" -eq 1 ] && outdir=bench/results/sequence-shapes
  [ "$precision_only" -eq 1 ] && outdir=bench/results/precision
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/simdlstm-bench.XXXXXX")
echo "== results of this run: $work"

echo "== build"
dotnet build -c Release bench/SimdLstm.Benchmarks -v quiet -nologo
bench_dll=bench/SimdLstm.Benchmarks/bin/Release/net10.0/SimdLstm.Benchmarks.dll

peer_dirs=()
if [ "$precision_only" -eq 1 ]; then
  echo "== SimdLstm's packed step at fp32, bf16 and int8, and the read bandwidth at each one's working set (one thread, unpinned)"
  # --join: one summary, so the limit columns see the PackedReadBench cases (the floors) and the FMA peak.
  dotnet "$bench_dll" --filter '*PrecisionBench*' '*PackedReadBench*' '*FmaPeakBench*' --join "${job[@]}" --artifacts "$work/ours"
  if [ "$peers" -eq 1 ]; then
    echo "== peer: ONNX Runtime's DynamicQuantizeLSTM (one thread)"
    if dotnet restore bench/SimdLstm.Benchmarks.Peers -v quiet; then
      # Only ONNX Runtime runs here, so libtorch's Debian 12 workaround is not needed.
      dotnet build -c Release --no-restore bench/SimdLstm.Benchmarks.Peers -v quiet -nologo
      peers_dll=bench/SimdLstm.Benchmarks.Peers/bin/Release/net10.0/SimdLstm.Benchmarks.Peers.dll
      # Checks first: ONNX Runtime's and our int8 and bf16 steps against our fp32 step, each within its derived bound
      # (exit 3: one is outside it, nothing is timed).
      rc=0
      dotnet "$peers_dll" --filter '*DynamicQuantizeLstmBench*' --join "${job[@]}" --artifacts "$work/peers-precision" || rc=$?
      [ "$rc" -eq 3 ] && { echo "run.sh: a quantised step is outside its bound around fp32 (see above); stopping" >&2; exit 3; }
      [ "$rc" -eq 0 ] && peer_dirs+=("$work/peers-precision") || echo "peer (DynamicQuantizeLSTM) failed; continuing"
    else
      echo "peer unavailable: all: the peer project did not restore"
    fi
  fi
elif [ "$shapes_only" -eq 1 ]; then
  echo "== the hardware limit (one thread, unpinned)"
  dotnet "$bench_dll" --filter '*BandwidthBench*' '*FmaPeakBench*' --join "${job[@]}" --artifacts "$work/ours"
else
  echo "== SimdLstm and the hardware limit (one thread, unpinned)"
  # --join puts every class in one summary, so the limit columns can see the bandwidth and FMA cases. The one-thread cases
  # only: the 2-thread cases (…TwoThreads) run next, in their own summary.
  dotnet "$bench_dll" --filter '*Bench.Step' '*Bench.LayerStep' '*Bench.Sequence' '*Bench.LayerSequence' '*Bench.Train' \
    '*BandwidthBench*' '*FmaPeakBench*' --join "${job[@]}" --artifacts "$work/ours"
fi
if [ "$precision_only" -eq 0 ]; then
  echo "== SimdLstm sequence shapes (one thread, unpinned)"
  # With the FMA case in the summary, the limit column of the B = 16 cases (FMA-bound) is filled; the page takes the
  # bandwidth of the summary above.
  dotnet "$bench_dll" --filter '*SequenceShapeBench*' '*FmaPeakBench*' --join "${shapes_job[@]}" --artifacts "$work/ours-shapes" \
    && raw_shapes=("$work/ours-shapes") || echo "sequence-shape cases failed; continuing"
fi
if [ "$shapes_only" -eq 0 ] && [ "$precision_only" -eq 0 ] && [ "$(nproc)" -gt 1 ]; then
  echo "== SimdLstm on 2 threads"
  dotnet "$bench_dll" --filter '*Bench.*TwoThreads' --join "${job[@]}" --artifacts "$work/ours-two-threads" \
    && raw_two=("$work/ours-two-threads") || echo "2-thread cases failed; continuing"
fi

if [ "$peers" -eq 1 ] && [ "$precision_only" -eq 0 ]; then
  echo "== peers"
  if dotnet restore bench/SimdLstm.Benchmarks.Peers -v quiet; then
    # TorchSharp 0.107 on libstdc++ 12: patch the cached native library and preload a no-op symbol. Without the tool
    # (or when it fails) libtorch reports itself unavailable and ONNX Runtime still runs.
    if [ -f "$root/../shared/tools/torchsharp-debian12.sh" ]; then
      eval "$(bash "$root/../shared/tools/torchsharp-debian12.sh")" || echo "torchsharp-debian12.sh failed; libtorch may be unavailable"
    fi
    # Build after patching, so the patched native library is the one copied to the output.
    dotnet build -c Release --no-restore bench/SimdLstm.Benchmarks.Peers -v quiet -nologo
    peers_dll=bench/SimdLstm.Benchmarks.Peers/bin/Release/net10.0/SimdLstm.Benchmarks.Peers.dll
    # PyTorch state_dicts both ways with libtorch's own modules (strict names and shapes, same outputs): a failure stops
    # the run like a disagreeing peer; libtorch unavailable is reported and the run goes on.
    rc=0
    dotnet "$peers_dll" --state-dict-check || rc=$?
    [ "$rc" -eq 3 ] && { echo "run.sh: a state_dict does not load both ways with libtorch (see above); stopping" >&2; exit 3; }
    # Each run checks every peer first (exit 3: a peer disagrees with SimdLstm, nothing of it was timed).
    # The cell classes, then the sequence-shape classes (each run checks only the peers its filter selects).
    if [ "$shapes_only" -eq 0 ]; then
      rc=0
      SIMDLSTM_TORCH_THREADS=1 dotnet "$peers_dll" --filter '*OnnxRuntimeBench*' '*OnnxRuntimeGruBench*' '*TorchBench*' '*TorchGruBench*' \
        --join "${job[@]}" --artifacts "$work/peers-one-core" || rc=$?
      [ "$rc" -eq 3 ] && { echo "run.sh: a peer disagrees with SimdLstm (see above); stopping" >&2; exit 3; }
      [ "$rc" -eq 0 ] && peer_dirs+=("$work/peers-one-core") || echo "peers (one core) failed; continuing"
    fi
    rc=0
    dotnet "$peers_dll" --filter '*BidirectionalBench*' --join "${shapes_job[@]}" --artifacts "$work/peers-shapes" || rc=$?
    [ "$rc" -eq 3 ] && { echo "run.sh: a peer disagrees with SimdLstm (see above); stopping" >&2; exit 3; }
    [ "$rc" -eq 0 ] && peer_dirs+=("$work/peers-shapes") || echo "peers (sequence shapes) failed; continuing"
    if [ "$shapes_only" -eq 0 ] && [ "$(nproc)" -gt 1 ]; then
      rc=0
      SIMDLSTM_TORCH_THREADS=all dotnet "$peers_dll" --filter '*TorchBench*' '*TorchGruBench*' --join "${job[@]}" \
        --artifacts "$work/peers-all-cores" || rc=$?
      [ "$rc" -eq 3 ] && { echo "run.sh: a peer disagrees with SimdLstm (see above); stopping" >&2; exit 3; }
      [ "$rc" -eq 0 ] && peer_dirs+=("$work/peers-all-cores") || echo "peers (all cores) failed; continuing"
    fi
  else
    echo "peer unavailable: all: the peer project did not restore"
  fi
fi

raw_dirs=("$work/ours" "${raw_shapes[@]}" "${raw_two[@]}" "${peer_dirs[@]}")
if [ -n "$compare" ]; then
  old=$compare
  case "$old" in *.md) old="${old%.md}" ;; esac
  [ -e "$old" ] || { echo "run.sh: no committed results at $old" >&2; exit 2; }
  echo "== compare with $old (noise floor $floor)"
  dotnet "$bench_dll" compare --old "$old" --new "${raw_dirs[@]}" --floor "$floor"
  exit $?
fi

out=$outdir/$slug
rm -rf "$out"; mkdir -p "$out"
for d in "${raw_dirs[@]}"; do
  name=$(basename "$d")
  for f in "$d"/results/*-report-full.json "$d"/results/*-report.csv; do
    [ -f "$f" ] && cp "$f" "$out/$name-$(basename "$f" | sed -E 's/BenchmarkRun-joined-[0-9]{4}(-[0-9]{2}){5}-//; s/SimdLstm\.Benchmarks\.(Peers\.)?//')"
  done
done
peer_args=()
for f in "$out"/peers-*-report-full.json; do [ -f "$f" ] && peer_args+=("$f"); done
dotnet "$bench_dll" report --ours "$out"/ours*-report-full.json ${peer_args[@]:+--peers "${peer_args[@]}"} \
  --command "$command" --notes "$notes" --out "$outdir/$slug.md"
echo "== wrote $outdir/$slug.md and $out/"
