#!/bin/sh
# The nightly job's command line, taken from scripts/cron/carbonflux.cron as it
# stands (only its installed paths are pointed into a temporary directory), run
# the way cron runs it (sh -c, its stdout being what cron mails):
#   1. over two simulated L0 files and a corrupt one: exit 3; stdout (the mail)
#      and the summary file say exit 3 and name the corrupt file as
#      quarantined with its reason; both L2 files are written;
#   2. while another process holds the lock: exit 75 at once, nothing run, no log;
#   3. the corrupt file removed, CF_MAIL=problems: exit 0 and nothing on stdout
#      (no mail on a good night); the summary file says that nothing ran, the
#      two good files skipped as unchanged (the catalogue of night 1 was found).
#
#   sh tests/nightly_cron.sh build/carbonflux
set -eu
# shellcheck source=tests/scheduling_lib.sh
. "$(dirname "$0")/scheduling_lib.sh"
sched_args "$@"
for bin in flock ionice; do
  command -v "$bin" >/dev/null 2>&1 || { echo "nightly_cron: skipped: $bin not found (util-linux)"; exit 77; }
done
tmp=$(mktemp -d /tmp/cf-nightly.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "nightly_cron: FAIL: $*" >&2
  for f in "$tmp"/log/*; do [ -f "$f" ] && { echo "----- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}

mkdir -p "$tmp/in"
for seed in 1 2; do
  simulate_small "$tmp/in/l0_$seed.h5" $seed
done
head -c 4096 "$tmp/in/l0_1.h5" >"$tmp/in/l0_bad.h5"

cat >"$tmp/env" <<EOF
CARBONFLUX=$cf
CF_PIPELINE=$repo/pipelines/lidar-l2.yaml
CF_INPUTS=$tmp/in/*.h5
CF_SET="write.l2.path=$tmp/l2/{stem}_l2.nc write.quicklook.path=$tmp/ql/{stem}"
CF_STATE_DIR=$tmp/state
CF_LOG_DIR=$tmp/log
CF_THREADS=1
CF_MAIL=problems
EOF

# the cron line's command: every field after the five times and the user
line=$(grep -E '^[0-9*]' "$repo/scripts/cron/carbonflux.cron")
[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "the cron file should have one job line, not: $line"
cmd=$(printf '%s\n' "$line" | awk '{ for (i = 1; i <= 6; i++) $i = ""; sub(/^ +/, ""); print }' |
  sed -e "s|/run/lock/carbonflux-nightly.lock|$tmp/lock|" \
    -e "s|/usr/local/lib/carbonflux/carbonflux-nightly.sh|$repo/scripts/carbonflux-nightly.sh|" \
    -e "s|/etc/default/carbonflux|$tmp/env|")
echo "nightly_cron: $cmd"

# 1. a night with a corrupt input
rc=0
mail=$(sh -c "$cmd") || rc=$?
[ $rc -eq 3 ] || fail "exit $rc, not 3, with one corrupt input; stdout: $mail"
printf '%s\n' "$mail" | head -n 1 | grep -q ': exit 3, some inputs quarantined' ||
  fail "the mail does not start with the exit code: $mail"
printf '%s\n' "$mail" | grep -qx "ran: 2 done, 1 quarantined, 0 failed, 0 cancelled" ||
  fail "the mail does not count 2 done and 1 quarantined: $mail"
printf '%s\n' "$mail" | grep -q "^  $tmp/in/l0_bad.h5: .*HDF5 cannot open the file" ||
  fail "the mail does not name the corrupt input with its reason: $mail"
summary=$(ls "$tmp"/log/nightly-*.summary)
[ "$(cat "$summary")" = "$mail" ] || fail "the summary file $summary is not what was mailed"
for seed in 1 2; do
  [ -s "$tmp/l2/l0_${seed}_l2.nc" ] || fail "no L2 file for l0_$seed.h5"
done
[ ! -e "$tmp/l2/l0_bad_l2.nc" ] || fail "the corrupt input has an L2 file"

# 2. the previous run still holds the lock
count() { find "$tmp/log" -name "$1" | wc -l; }
logs_before=$(count '*')
flock "$tmp/lock" sleep 2 & # the lock is released when sleep ends (it inherits the descriptor)
holder=$!
i=0
until ! flock -n "$tmp/lock" true; do # wait until the holder has the lock
  i=$((i + 1)); [ $i -lt 50 ] || fail "the lock holder did not take the lock"; sleep 0.1
done
rc=0
out=$(sh -c "$cmd") || rc=$?
[ -z "$out" ] || fail "the run under the lock printed: $out"
wait "$holder" || fail "the lock holder failed"
[ $rc -eq 75 ] || fail "exit $rc, not 75, while the lock was held"
[ "$(count '*')" -eq "$logs_before" ] || fail "a run started although the lock was held"

# 3. a good night: nothing to mail
rm "$tmp/in/l0_bad.h5"
sleep 1 # the log and summary names carry the second
rc=0
mail=$(sh -c "$cmd") || rc=$?
[ $rc -eq 0 ] || fail "exit $rc, not 0, with good inputs only"
[ -z "$mail" ] || fail "a good night printed (cron would mail): $mail"
[ "$(count 'nightly-*.summary')" -eq 2 ] || fail "the good night wrote no summary file"
summary=$(find "$tmp/log" -name 'nightly-*.summary' -newer "$summary")
grep -qx "items: 2 considered, 0 to run (0 new, 0 changed or rerun), 2 skipped (unchanged), 0 still quarantined" "$summary" ||
  fail "the good night's summary: $(cat "$summary")"
echo "nightly_cron: passed"
