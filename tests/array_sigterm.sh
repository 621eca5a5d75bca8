#!/bin/sh
# The job-array template (scripts/slurm/carbonflux-array.sbatch) at its time
# limit, without Slurm: the script is run with the SLURM_ARRAY_* variables a
# task gets, and once two of its eight items are done every process of its
# process group gets SIGTERM, as slurmstepd sends it at the limit. Then:
#   - the task exits 2 (cancelled) after carbonflux has cancelled;
#   - the shard's catalogue is back in CF_STATE_DIR, holding exactly the items
#     the log says were done (read by Python's sqlite3, on a copy), and the
#     task's scratch directory is gone;
#   - the next run of the same task runs only the others (its summary: 8
#     considered, 8-N to run, N skipped as unchanged, 8-N done) and exits 0.
#
#   sh tests/array_sigterm.sh build/carbonflux
set -eu
# shellcheck source=tests/scheduling_lib.sh
. "$(dirname "$0")/scheduling_lib.sh"
sched_args "$@"
command -v setsid >/dev/null 2>&1 || { echo "array_sigterm: skipped: setsid not found (util-linux)"; exit 77; }
tmp=$(mktemp -d /tmp/cf-sigterm.XXXXXX)
task=
cleanup() {
  [ -n "$task" ] && kill -KILL "-$task" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "array_sigterm: FAIL: $*" >&2
  for f in "$tmp"/task*.txt; do [ -f "$f" ] && { echo "----- $f" >&2; cat "$f" >&2; }; done
  exit 1
}

mkdir -p "$tmp/in" "$tmp/scratch"
simulate_small "$tmp/l0.h5" 7
for i in 1 2 3 4 5 6 7 8; do cp "$tmp/l0.h5" "$tmp/in/f$i.h5"; done

export CARBONFLUX="$cf" CF_PIPELINE="$repo/pipelines/lidar-l2.yaml" CF_INPUTS="$tmp/in/*.h5" \
  CF_SET="write.l2.path=$tmp/l2/{stem}_l2.nc write.quicklook.path=$tmp/ql/{stem}" \
  CF_STATE_DIR="$tmp/state" CF_LOG_DIR="$tmp/log" CF_SCRATCH="$tmp/scratch" \
  SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=1 SLURM_CPUS_PER_TASK=1
log=$tmp/log/carbonflux-1-shard-0-of-1.jsonl
done_items() { # items the log says are done (0 before the log exists)
  if [ -f "$1" ]; then grep -c '"event":"item_end","status":"done"' "$1" || true; else echo 0; fi
}

# ---- night 1, stopped after two items as the time limit would
SLURM_ARRAY_JOB_ID=1 setsid sh "$repo/scripts/slurm/carbonflux-array.sbatch" >"$tmp/task1.txt" 2>&1 &
task=$!
i=0
until [ "$(done_items "$log")" -ge 2 ]; do
  i=$((i + 1)); [ $i -lt 600 ] || fail "two items not done within 60 s"; sleep 0.1
done
kill -TERM "-$task"
rc=0
wait "$task" || rc=$?
task=
[ $rc -eq 2 ] || fail "the task exited $rc after SIGTERM, not 2 (cancelled)"
n=$(done_items "$log")
if [ "$n" -lt 2 ] || [ "$n" -ge 8 ]; then fail "$n items done before the stop; the test needs 2 to 7"; fi
grep -q 'SIGTERM (time limit?): saving the catalogue' "$tmp/task1.txt" || fail "the task did not say it saves the catalogue"
[ -f "$tmp/state/shard-0-of-1.sqlite" ] || fail "the catalogue was not put back after SIGTERM"
[ -z "$(find "$tmp/scratch" -mindepth 1 | head -1)" ] || fail "the task left its scratch copy"
cp "$tmp/state/shard-0-of-1.sqlite" "$tmp/check.sqlite"
/usr/bin/python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
if c.execute("pragma integrity_check").fetchone()[0] != "ok": sys.exit("integrity_check failed")
n = c.execute("select count(*) from items where status = \"done\"").fetchone()[0]
if n != int(sys.argv[2]): sys.exit("the catalogue has %d items done, the log %s" % (n, sys.argv[2]))' \
  "$tmp/check.sqlite" "$n" || fail "the catalogue put back"
echo "array_sigterm: stopped after $n of 8 items: exit 2, the catalogue saved with those $n"

# ---- night 2: only the others run
rc=0
SLURM_ARRAY_JOB_ID=2 sh "$repo/scripts/slurm/carbonflux-array.sbatch" >"$tmp/task2.txt" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "the next run exited $rc, not 0"
# (the item cancelled mid-way is recorded as cancelled: "rerun", the rest "new")
want="items: 8 considered, $((8 - n)) to run ([0-9]* new, [0-9]* changed or rerun), $n skipped (unchanged), 0 still quarantined"
grep -qx "$want" "$tmp/task2.txt" || fail "the next run's summary has no line '$want'"
grep -qxF "ran: $((8 - n)) done, 0 quarantined, 0 failed, 0 cancelled" "$tmp/task2.txt" ||
  fail "the next run did not do the $((8 - n)) others"
echo "array_sigterm: the next run: $((8 - n)) run, $n skipped; passed"
