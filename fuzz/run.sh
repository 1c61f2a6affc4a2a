#!/usr/bin/env bash
# Runs the fuzz targets under libFuzzer (cargo-fuzz, address sanitizer), each for SECONDS:
#
#   fuzz/run.sh TARGET SECONDS    one target
#   fuzz/run.sh all SECONDS       every target, one after another
#
# A run starts from the committed seeds (fuzz/seeds/TARGET) and the inputs that once crashed
# it (fuzz/regressions/TARGET), and grows its own corpus in fuzz/corpus/TARGET (not
# committed), with the dictionary of its input (fuzz/dicts/). It
# prints each target's executions from libFuzzer's final stats and exits non-zero on a crash,
# a hang (-timeout) or a leak; the input that did it is in fuzz/artifacts/TARGET/, the whole
# log in fuzz/logs/TARGET.log. Extra libFuzzer flags: FUZZ_ARGS="-jobs=2 ...".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
targets=(bearer jwks callback next config session dsl)

usage() {
  echo "usage: $0 TARGET|all SECONDS   (targets: ${targets[*]})" >&2
  exit 2
}
[ $# -eq 2 ] || usage
[[ $2 =~ ^[0-9]+$ ]] || usage

# Sanitizer builds stay out of the workspace's target dir (and it out of theirs).
export CARGO_TARGET_DIR="$here/target"
export RUSTC_BOOTSTRAP=1

dict_of() {
  case "$1" in
    bearer | jwks) echo jose ;;
    callback | next) echo url ;;
    *) echo "$1" ;;
  esac
}

# Targets whose harness keeps what real traffic fills (the cache of validated tokens, the
# session store's flows and records): memory they hold on to is not a leak, and checking
# for one after each input that grew them would cost more than the input.
#
# The DSL's crashes were long inputs (thousands of nested `<` or `&`): the dsl target tries
# inputs of any length at once instead of growing them slowly, up to 1 KiB (every bound the
# macros set trips within a tenth of that; longer inputs only cost executions).
flags_of() {
  case "$1" in
    bearer | callback | session) echo -detect_leaks=0 ;;
    dsl) echo -len_control=0 -max_len=1024 ;;
  esac
}

run_one() {
  local target=$1 seconds=$2
  mkdir -p "$here/corpus/$target" "$here/logs"
  local log="$here/logs/$target.log"
  local args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=30)
  local dict
  dict="$here/dicts/$(dict_of "$target").dict"
  [ -f "$dict" ] && args+=(-dict="$dict")
  # shellcheck disable=SC2207 # one flag per word
  args+=($(flags_of "$target"))
  # shellcheck disable=SC2206 # FUZZ_ARGS is a list of flags
  args+=(${FUZZ_ARGS:-})
  local dirs=("corpus/$target" "seeds/$target")
  [ -d "$here/regressions/$target" ] && dirs+=("regressions/$target")
  local rc=0 started=$SECONDS
  (cd "$here" && cargo fuzz run "$target" "${dirs[@]}" -- "${args[@]}") \
    >"$log" 2>&1 || rc=$?
  local execs speed
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | awk '{print $NF}')
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | awk '{print $NF}')
  if [ "$rc" -ne 0 ]; then
    tail -n 80 "$log" >&2
    echo "fuzz: $target FAILED (exit $rc) after ${execs:-?} executions; log: $log" >&2
    return 1
  fi
  local cov
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  echo "fuzz: $target: ${execs:-?} executions in $((SECONDS - started)) s (${speed:-?}/s), coverage ${cov:-?} edges"
}

case "$1" in
  all)
    # One build of every target first, so the runs' time is fuzzing time.
    (cd "$here" && cargo fuzz build) >"$here/build.log" 2>&1 || {
      tail -n 80 "$here/build.log" >&2
      echo "fuzz: build FAILED; log: $here/build.log" >&2
      exit 1
    }
    failed=()
    for target in "${targets[@]}"; do
      run_one "$target" "$2" || failed+=("$target")
    done
    if [ ${#failed[@]} -gt 0 ]; then
      echo "fuzz: failed: ${failed[*]}" >&2
      exit 1
    fi
    ;;
  *)
    [[ " ${targets[*]} " == *" $1 "* ]] || usage
    run_one "$1" "$2"
    ;;
esac
