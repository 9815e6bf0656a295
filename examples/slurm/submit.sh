#!/usr/bin/env bash
# Submits the whole chain on a Slurm cluster and prints the job ids:
#
#   1. stats-part.sbatch as an array of --tasks tasks: the reference statistics
#      of --images, one share each;
#   2. stats-merge.sbatch after the whole array succeeded: RUN/stats.npz,
#      equal bit for bit to one `stackgan-eval stats` over the folder;
#   with --checkpoints (a glob, quoted, or a folder of .onnx/.pth files):
#   3. eval-checkpoint.sbatch as an array with one task per checkpoint, after
#      the merge: `eval --real RUN/stats.npz --metrics fid,is` of each (or
#      --real FILE, --metrics LIST: the reference's features from `extract`
#      allow KID and PR/DC, which statistics do not);
#   4. eval-table.sbatch after that array, however its tasks ended: RUN/table/.
#
#   examples/slurm/submit.sh --images DIR --out RUN [--tasks N] [--extractor M] [--protocol P] [--device D]
#       [--checkpoints 'runs/netG_*.onnx' [--embeddings E.npy] [--real FILE] [--metrics LIST]] [-- more eval flags]
#
# Partition, account, time and CPUs per task come from your site's defaults
# or the SBATCH_* variables sbatch reads (SBATCH_PARTITION, SBATCH_ACCOUNT,
# SBATCH_TIMELIMIT, …); the tool is `stackgan-eval` on PATH, or $STACKGAN_EVAL.
# Prints `stats_array=ID`, `stats_merge=ID` (and `eval_array=ID`, `eval_table=ID`),
# one per line, on stdout; logs go to RUN/logs/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() {
    echo "usage: $0 --images DIR --out RUN [--tasks N] [--extractor M] [--protocol P] [--device D] [--checkpoints GLOB|DIR [--embeddings E] [--real FILE] [--metrics LIST]] [-- eval flags…]" >&2
    exit 2
}
images='' run='' tasks=4 checkpoints='' real='' metrics=fid,is common=() eval_flags=()
while [ $# -gt 0 ]; do
    case $1 in
    --images) images=${2:?--images needs a folder}; shift 2 ;;
    --out) run=${2:?--out needs a folder}; shift 2 ;;
    --tasks) tasks=${2:?--tasks needs a number}; shift 2 ;;
    --extractor | --protocol | --device) common+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --checkpoints) checkpoints=${2:?--checkpoints needs a glob or a folder}; shift 2 ;;
    --real) real=${2:?--real needs a file}; shift 2 ;;
    --metrics) metrics=${2:?--metrics needs a list}; shift 2 ;;
    --embeddings) eval_flags+=("$1" "${2:?$1 needs a file}"); shift 2 ;;
    --) shift; eval_flags+=("$@"); break ;;
    *) usage ;;
    esac
done
if [ -z "$images" ] || [ -z "$run" ]; then usage; fi
[[ $tasks =~ ^[1-9][0-9]*$ ]] || { echo "--tasks $tasks: give a whole number ≥ 1" >&2; exit 2; }
[ -d "$images" ] || { echo "--images $images: not a folder" >&2; exit 2; }

if compgen -G "$run/parts/part-*.npz" >/dev/null; then
    echo "--out $run: $run/parts holds the parts of an earlier run, which the merge would take in; remove them or choose another --out" >&2
    exit 2
fi
mkdir -p "$run/parts" "$run/logs" "$run/results"
run=$(cd "$run" && pwd)
images=$(cd "$images" && pwd)
if [ -n "$checkpoints" ]; then
    # One checkpoint per line, in training order (netG_2000 before netG_10000).
    if [ -d "$checkpoints" ]; then
        find "$(cd "$checkpoints" && pwd)" -maxdepth 1 -type f \( -name '*.onnx' -o -name '*.pth' -o -name '*.pt' \) | sort -V >"$run/checkpoints.txt"
    else
        shopt -s nullglob
        # The glob is expanded here, on purpose.
        # shellcheck disable=SC2206
        files=($checkpoints)
        shopt -u nullglob
        for file in "${files[@]}"; do
            if [ -f "$file" ]; then echo "$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"; fi
        done | sort -V >"$run/checkpoints.txt"
    fi
    count=$(grep -c . "$run/checkpoints.txt" || true)
    [ "$count" -gt 0 ] || { echo "--checkpoints $checkpoints: no checkpoint found" >&2; exit 2; }
fi

# `sbatch --parsable` prints ID or ID;CLUSTER.
submit() { local id; id=$(sbatch --parsable "$@"); echo "${id%%;*}"; }

stats_array=$(submit --array="0-$((tasks - 1))" --output="$run/logs/stats-part-%A_%a.out" \
    "$here/stats-part.sbatch" "$images" "$run/parts" "${common[@]}")
echo "stats_array=$stats_array"
stats_merge=$(submit --dependency="afterok:$stats_array" --kill-on-invalid-dep=yes \
    --output="$run/logs/stats-merge-%j.out" "$here/stats-merge.sbatch" "$run/parts" "$run/stats.npz")
echo "stats_merge=$stats_merge"

[ -n "$checkpoints" ] || exit 0
eval_array=$(submit --array="0-$((count - 1))" --dependency="afterok:$stats_merge" --kill-on-invalid-dep=yes \
    --output="$run/logs/eval-checkpoint-%A_%a.out" "$here/eval-checkpoint.sbatch" "$run/checkpoints.txt" "$run/results" \
    --real "${real:-$run/stats.npz}" --metrics "$metrics" "${common[@]}" "${eval_flags[@]}")
echo "eval_array=$eval_array"
eval_table=$(submit --dependency="afterany:$eval_array" --kill-on-invalid-dep=yes \
    --output="$run/logs/eval-table-%j.out" "$here/eval-table.sbatch" "$run/checkpoints.txt" "$run/results" "$run/table")
echo "eval_table=$eval_table"
