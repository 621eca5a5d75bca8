#!/bin/sh
# A one-node Slurm cluster on this machine, from Debian's packages (munge,
# slurmctld, slurmd, slurm-client), to run the job-array template
# (scripts/slurm/carbonflux-array.sbatch) the way a cluster would: sbatch,
# an array of shards, a dependent job reading every shard's catalogue; and
# the one-job template (carbonflux.sbatch) beside it.
#
#   sh tests/slurm_one_node.sh build/carbonflux
#
# Why a real Slurm and not a shell loop that sets SLURM_ARRAY_TASK_ID: the
# things that go wrong on a cluster are the ones a loop cannot show. sbatch
# copies the script into its spool (so the script cannot find files beside
# itself), runs it in another working directory with another environment,
# takes #SBATCH lines as options, and reports the job's exit code only
# through its own accounting. This test meets all of that.
#
# Everything lives in one temporary directory: the munge key and socket, the
# generated slurm.conf, the daemons' state, spool, logs and pid files, and the
# batch's inputs and outputs. Nothing under /etc, /run or /var is read or
# written (the system's munged, if any, is not used). The daemons run niced,
# on ports picked free at start, and are stopped on any exit (trap), success
# or failure; their logs are printed when a step fails.
#
# Settings that are there for containers (no systemd, no cgroup hierarchy
# of our own, a hostname that may not resolve to a routable address):
#   ProctrackType=proctrack/linuxproc  track job processes through /proc
#                                      parentage, not cgroups
#   TaskPlugin=task/none               no cgroup or affinity confinement
#   JobAcctGatherType=jobacct_gather/none, no cgroup.conf at all
#   NodeAddr=127.0.0.1, SlurmctldHost=NAME(127.0.0.1)
#                                      the loopback address, whatever the
#                                      hostname resolves to
#   SlurmdParameters=config_overrides  the node is used as declared even if
#                                      slurmd sees other CPU or memory figures
#   SlurmUser=root, SlurmdUser=root    no slurm account needed
#
# Exit: 0 passed, 1 failed, 77 skipped (not root, or a binary missing);
# ctest treats 77 as "skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt).
set -eu
# shellcheck source=tests/scheduling_lib.sh
. "$(dirname "$0")/scheduling_lib.sh"
sched_args "$@"

if [ "$(id -u)" -ne 0 ]; then
  echo "slurm_one_node: skipped: needs root (it starts munged, slurmctld and slurmd)"
  exit 77
fi
for bin in munged mungekey slurmctld slurmd sbatch sinfo squeue scontrol sacct; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "slurm_one_node: skipped: $bin not found (Debian packages munge slurmctld slurmd slurm-client)"
    exit 77
  fi
done

t0=$(date +%s)
tmp=$(mktemp -d /tmp/cf-slurm.XXXXXX)
chmod 711 "$tmp" # munged wants its socket directory searchable by all

stop_pidfile() { # stop_pidfile FILE NAME: TERM, wait up to 10 s, then KILL
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || return 0
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "slurm_one_node: $2 (pid $pid) ignored SIGTERM for 10 s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
show_logs() {
  for f in "$tmp"/log/*.log; do
    [ -f "$f" ] || continue
    echo "----- $f (last 40 lines)" >&2
    tail -n 40 "$f" >&2
  done
}
fail() {
  echo "slurm_one_node: FAIL: $*" >&2
  show_logs
  exit 1
}
cleanup() {
  rc=$?
  trap - EXIT INT TERM
  # Jobs still queued or running (a failed or interrupted run) are cancelled
  # first: slurmstepd outlives slurmd, so stopping the daemons would not end them.
  if [ -s "$tmp/run/slurmctld.pid" ]; then
    left=$(squeue --noheader --format=%A 2>/dev/null | tr '\n' ' ')
    if [ -n "${left% }" ]; then
      # shellcheck disable=SC2086
      scancel --full --quiet $left 2>/dev/null || true
      i=0
      while [ -n "$(squeue --noheader --format=%A 2>/dev/null)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    fi
  fi
  stop_pidfile "$tmp/run/slurmd.pid" slurmd
  stop_pidfile "$tmp/run/slurmctld.pid" slurmctld
  stop_pidfile "$tmp/run/munged.pid" munged
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/munge" "$tmp/run" "$tmp/log" "$tmp/state" "$tmp/spool" "$tmp/work"

# ---- munge: a key of our own, a socket in the temporary directory
mungekey --create --keyfile="$tmp/munge/munge.key" >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$tmp/munge/munge.key"
socket=$tmp/run/munge.socket
munged --force --socket="$socket" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/run/munged.pid" --log-file="$tmp/log/munged.log" \
  --seed-file="$tmp/munge/munged.seed" ||
  fail "munged did not start"
i=0
until [ -S "$socket" ]; do
  i=$((i + 1)); [ $i -lt 50 ] || fail "munged made no socket at $socket within 5 s"; sleep 0.1
done

# ---- two free TCP ports (the system's Slurm, if any, keeps 6817/6818)
ports=$(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))') || fail "no free ports"
ctld_port=${ports% *}
slurmd_port=${ports#* }

# ---- slurm.conf
host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)
export SLURM_CONF="$tmp/slurm.conf"
: >"$tmp/plugstack.conf"
cat >"$SLURM_CONF" <<EOF
# generated by tests/slurm_one_node.sh for one test run
ClusterName=cftest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
# containers: no cgroups, processes tracked through /proc
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
PlugStackConfig=$tmp/plugstack.conf
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# quick turnaround for a test (defaults are minutes)
MinJobAge=300
SchedulerParameters=sched_interval=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=30 State=UP
EOF

# ---- the daemons, niced: the machine is shared and jobs inherit the nice value
nice -n 10 slurmctld -i -f "$SLURM_CONF" || fail "slurmctld did not start"
nice -n 10 slurmd -f "$SLURM_CONF" || fail "slurmd did not start"

i=0
until sinfo --noheader --nodes="$host" --format=%t 2>/dev/null | grep -qx idle; do
  i=$((i + 1))
  [ $i -lt 300 ] || fail "node $host not idle within 30 s (sinfo: $(sinfo --noheader 2>&1 | tr '\n' ' '))"
  sleep 0.1
done
echo "slurm_one_node: one-node Slurm up in $(($(date +%s) - t0)) s (node $host, $cpus CPUs, ports $ctld_port/$slurmd_port)"


# ---- the batch: 6 simulated L0 files and one corrupt one
# Small files (simulate_small: 10 gates, 2 VAD scans of 24 rays: 48 rays), each with its own
# seed so that each output's input hash is its own. Byte order of the names,
# which is the order shards are cut from (index modulo 3):
#   0 l0_1.h5  1 l0_2.h5  2 l0_3.h5  3 l0_3x.h5 (corrupt)  4 l0_4.h5  5 l0_5.h5  6 l0_6.h5
# so shard 0 = {l0_1, l0_3x, l0_6} (exit 3: one input quarantined),
#    shard 1 = {l0_2, l0_4}, shard 2 = {l0_3, l0_5} (exit 0).
in_dir=$tmp/work/in
mkdir -p "$in_dir"
for seed in 1 2 3 4 5 6; do
  simulate_small "$in_dir/l0_$seed.h5" $seed
done
head -c 4096 "$in_dir/l0_3.h5" >"$in_dir/l0_3x.h5" # an HDF5 file cut short
expected_scans=2
expected_rays=48                                      # scans x rays_per_scan (24, the default)
expected_gates=10

# ---- the settings the job scripts read (sbatch passes the environment on)
export CARBONFLUX="$cf"
export CF_PIPELINE="$repo/pipelines/lidar-l2.yaml"
export CF_INPUTS="$in_dir/*.h5"
export CF_SET="write.l2.path=$tmp/work/l2/{stem}_l2.nc write.quicklook.path=$tmp/work/ql/{stem}"
export CF_STATE_DIR="$tmp/work/state"
export CF_LOG_DIR="$tmp/work/logs"
export CF_SCRATCH="$tmp/scratch" # the nodes' local scratch, here one more directory
mkdir -p "$CF_SCRATCH"

# The template's #SBATCH lines ask for a real node; the command line overrides them.
submit() { # submit SCRIPT [SBATCH OPTIONS]...: the job id
  script=$1
  shift
  sbatch --parsable --cpus-per-task=1 --mem=256M --time=5 --chdir="$tmp/work" "$@" \
    "$repo/scripts/slurm/$script" || fail "sbatch $* $script refused"
}
# Our own poll rather than `sbatch --wait`: sbatch polls after 2, 8 and 32 s
# (its _job_wait backs off by 4x while that stays under MinJobAge/2), which
# would spend most of this test's time waiting for nothing.
wait_jobs() { # wait_jobs JOBID,JOBID...
  i=0
  while [ -n "$(squeue --noheader --jobs="$1" --format=%A 2>/dev/null)" ]; do
    i=$((i + 1))
    [ $i -lt 1200 ] || fail "jobs $1 not finished within 120 s: $(squeue 2>&1 | tr '\n' ' ')"
    sleep 0.1
  done
}
job_field() { # job_field JOBID FIELD [ARRAY_TASK]: FIELD from scontrol's one-line records
  scontrol --oneliner show job "$1" | tr ' ' '\n' |
    awk -v k="${3:-}" -v f="$2" -F= '$1 == "ArrayTaskId" { t = $2 } $1 == f && t == k { print $2 }'
}
check_shard_exits() { # check_shard_exits ARRAY_JOBID: shard 0 3:0 (the corrupt input), 1 and 2 0:0
  for k in 0 1 2; do
    want=0; [ $k -eq 0 ] && want=3
    code=$(job_field "$1" ExitCode $k)
    echo "slurm_one_node: shard $k: $(job_field "$1" JobState $k), exit code $code (want $want:0)"
    [ "$code" = "$want:0" ] ||
      { cat "$tmp/work/slurm-$1_$k.out" >&2; fail "shard $k ended with exit code '$code', not $want:0"; }
  done
}

# ---- night 1: the array of 3 shards, the status job after it, and the one-job
# template over the same inputs beside them (its outputs elsewhere)
array_jid=$(submit carbonflux-array.sbatch --array=0-2 --output="$tmp/work/slurm-%A_%a.out")
status_jid=$(submit carbonflux-status.sbatch --dependency="afterany:$array_jid" \
  --output="$tmp/work/slurm-status-%j.out")
single_jid=$(CF_SET="write.l2.path=$tmp/work/single/{stem}_l2.nc write.quicklook.path=$tmp/work/single/{stem}" \
  CF_STATE_DIR="$tmp/work/state-single" submit carbonflux.sbatch --output="$tmp/work/slurm-single-%j.out")
echo "slurm_one_node: submitted array $array_jid (3 shards), status job $status_jid after it, one job $single_jid"
wait_jobs "$array_jid,$status_jid,$single_jid"
echo "slurm_one_node: jobs ended after $(($(date +%s) - t0)) s"

# ---- each shard's exit code, as Slurm recorded it (carbonflux's, passed through)
check_shard_exits "$array_jid"

# ---- the one job: exit code 3:0 (the corrupt input), its own JSON-lines log
# naming it, the six L2 files of the good inputs with their own input hashes
single_code=$(job_field "$single_jid" ExitCode)
[ "$single_code" = 3:0 ] || { cat "$tmp"/work/slurm-single-*.out >&2; fail "the one job ended with '$single_code', not 3:0"; }
grep -q "\"event\":\"rejected\",\"path\":\"$in_dir/l0_3x.h5\"" "$tmp/work/logs/carbonflux-$single_jid.jsonl" ||
  fail "the one job's log has no event rejected for l0_3x.h5"
for seed in 1 2 3 4 5 6; do
  want_sha=$(sha256sum "$in_dir/l0_$seed.h5" | cut -d' ' -f1)
  ncdump -h "$tmp/work/single/l0_${seed}_l2.nc" 2>/dev/null | grep -q "input_sha256 = \"$want_sha\"" ||
    fail "the one job's L2 file of l0_$seed.h5 is missing or not of its input"
done
echo "slurm_one_node: one job: exit code $single_code (want 3:0), 6 L2 files"

# ---- the status job started after the last shard ended (afterany: whatever
# their exit codes; shard 0's was 3); Slurm's times are to the second
status_start=$(job_field "$status_jid" StartTime)
for k in 0 1 2; do
  end=$(job_field "$array_jid" EndTime $k)
  case "$status_start $end" in *Unknown* | " "* | *" ") fail "no start or end time: '$status_start', '$end'" ;; esac
  if ! [ "$(date -d "$status_start" +%s)" -ge "$(date -d "$end" +%s)" ]; then
    fail "the status job started at $status_start, before shard $k ended ($end)"
  fi
done

# ---- every output: there, whole, of its own input
# The L2 file of each good input has the L2 variables, the dimensions the
# simulation settings give (48 rays, 10 gates), and the SHA-256 of its input as
# sha256sum computes it; four quicklook PNGs each. The corrupt input has none.
for seed in 1 2 3 4 5 6; do
  l2=$tmp/work/l2/l0_${seed}_l2.nc
  [ -s "$l2" ] || fail "no L2 output $l2"
  header=$(ncdump -h "$l2") || fail "ncdump cannot read $l2"
  for v in radial_velocity cnr_on co2_mole_fraction eastward_wind northward_wind wind_speed; do
    echo "$header" | grep -q "[[:space:]]$v(" || fail "$l2 has no variable $v"
  done
  echo "$header" | grep -q "time = UNLIMITED ; // ($expected_rays currently)" || fail "$l2: time is not $expected_rays rays"
  echo "$header" | grep -q "scan = UNLIMITED ; // ($expected_scans currently)" || fail "$l2: scan is not $expected_scans scans"
  echo "$header" | grep -q "range = $expected_gates ;" || fail "$l2: range is not $expected_gates gates"
  want_sha=$(sha256sum "$in_dir/l0_$seed.h5" | cut -d' ' -f1)
  echo "$header" | grep -q "input_sha256 = \"$want_sha\"" || fail "$l2: input_sha256 is not that of l0_$seed.h5"
  for q in cnr cnr_on co2 radial_velocity; do
    png=$tmp/work/ql/l0_${seed}_$q.png
    [ "$(head -c 4 "$png" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ] || fail "$png is not a PNG"
  done
done
[ ! -e "$tmp/work/l2/l0_3x_l2.nc" ] || fail "the corrupt input has an L2 output"
leftovers=$(find "$tmp/work/l2" "$tmp/work/ql" -name '.*.part-*' | head -5)
[ -z "$leftovers" ] || fail "temporary files left: $leftovers"

# ---- each shard's log: JSON lines, one run id on every record; only shard
# 0's has the rejected event, for the corrupt input
check_log() { # check_log FILE [REJECTED_PATH]
  /usr/bin/python3 -c 'import json, sys
runs, rejected = set(), []
for n, line in enumerate(open(sys.argv[1]), 1):
    try: rec = json.loads(line)
    except ValueError: sys.exit("%s:%d is not JSON: %s" % (sys.argv[1], n, line[:200]))
    runs.add(rec.get("run_id"))
    if rec.get("event") == "rejected": rejected.append(rec.get("path"))
if len(runs) != 1 or None in runs: sys.exit("%s: run ids %s, not one on every record" % (sys.argv[1], runs))
if rejected != sys.argv[2:]: sys.exit("%s: rejected %s, not %s" % (sys.argv[1], rejected, sys.argv[2:]))' "$@"
}
check_log "$tmp/work/logs/carbonflux-$array_jid-shard-0-of-3.jsonl" "$in_dir/l0_3x.h5" || fail "shard 0's log"
check_log "$tmp/work/logs/carbonflux-$array_jid-shard-1-of-3.jsonl" || fail "shard 1's log"
check_log "$tmp/work/logs/carbonflux-$array_jid-shard-2-of-3.jsonl" || fail "shard 2's log"

# ---- each shard's catalogue, back in CF_STATE_DIR from the node's scratch:
# closed (no -wal or -shm beside it), PRAGMA integrity_check ok, its inputs
# and only those with the status the hand count above gives, and each output
# it records with the size and SHA-256 that the file on disk has (hashlib).
# Read by Python's sqlite3, not by carbonflux.
check_catalogue() { # check_catalogue K RUNS INPUT=STATUS...
  k=$1 runs=$2
  shift 2
  cat=$CF_STATE_DIR/shard-$k-of-3.sqlite
  [ -f "$cat" ] || fail "no catalogue for shard $k ($cat)"
  for x in wal shm journal; do [ ! -e "$cat-$x" ] || fail "$cat-$x is there: the catalogue was not closed"; done
  # a copy: even a read-only open of a WAL database leaves -shm and -wal files
  cp "$cat" "$tmp/work/check.sqlite"
  /usr/bin/python3 -c 'import hashlib, os, sqlite3, sys
db, runs, want = sys.argv[1], int(sys.argv[2]), dict(a.split("=") for a in sys.argv[3:])
c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
if c.execute("pragma integrity_check").fetchone()[0] != "ok": sys.exit("%s: integrity_check failed" % db)
n = c.execute("select count(*) from runs").fetchone()[0]
if n != runs: sys.exit("%s: %d runs, not %d" % (db, n, runs))
got = {os.path.basename(i): s for i, s in c.execute(
    "select input, status from items where id in (select max(id) from items group by input)")}
if got != want: sys.exit("%s: items %s, not %s" % (db, got, want))
for path, sha, size in c.execute("select path, sha256, size from outputs"):
    data = open(path, "rb").read()
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
        sys.exit("%s: %s is not the file the catalogue recorded" % (db, path))' "$tmp/work/check.sqlite" "$runs" "$@" ||
    fail "shard $k's catalogue"
  rm -f "$tmp/work/check.sqlite"*
}
check_catalogue 0 1 l0_1.h5=done l0_3x.h5=quarantined l0_6.h5=done
check_catalogue 1 1 l0_2.h5=done l0_4.h5=done
check_catalogue 2 1 l0_3.h5=done l0_5.h5=done
[ -z "$(find "$CF_SCRATCH" -mindepth 1 | head -1)" ] || fail "a shard left its scratch copy: $(ls "$CF_SCRATCH")"

# ---- each shard's summary (what a cron job would mail): its exit code, what ran
check_summary() { # check_summary ARRAY_JOBID K EXIT ITEMS_LINE RAN_LINE
  sum=$CF_LOG_DIR/carbonflux-$1-shard-$2-of-3.summary
  [ -f "$sum" ] || fail "no summary for shard $2 ($sum)"
  head -n 1 "$sum" | grep -q "^carbonflux batch .*: exit $3\$" || fail "$sum does not start with exit $3: $(cat "$sum")"
  grep -qxF "$4" "$sum" || fail "$sum has no line '$4': $(cat "$sum")"
  grep -qxF "$5" "$sum" || fail "$sum has no line '$5': $(cat "$sum")"
}
check_summary "$array_jid" 0 3 "items: 3 considered, 3 to run (3 new, 0 changed or rerun), 0 skipped (unchanged), 0 still quarantined" \
  "ran: 2 done, 1 quarantined, 0 failed, 0 cancelled"
for k in 1 2; do
  check_summary "$array_jid" $k 0 "items: 2 considered, 2 to run (2 new, 0 changed or rerun), 0 skipped (unchanged), 0 still quarantined" \
    "ran: 2 done, 0 quarantined, 0 failed, 0 cancelled"
done

# ---- the status job's report: the three shards read together, 7 inputs
status_code=$(job_field "$status_jid" ExitCode)
report=$CF_LOG_DIR/carbonflux-status-$status_jid.txt
[ "$status_code" = 0:0 ] || { cat "$tmp"/work/slurm-status-*.out >&2; fail "the status job ended with '$status_code'"; }
for k in 0 1 2; do
  grep -qxF "catalogue: $CF_STATE_DIR/shard-$k-of-3.sqlite" "$report" || fail "the status report does not read shard $k: $(cat "$report")"
done
grep -qxF "inputs: 7 (done 6, quarantined 1, failed 0)" "$report" || fail "the status report's counts: $(cat "$report")"
grep -q "^quarantined  $in_dir/l0_3x.h5: " "$report" || fail "the status report does not name l0_3x.h5: $(cat "$report")"
echo "slurm_one_node: status job: exit code $status_code, 7 inputs over 3 catalogues (6 done, 1 quarantined)"

# ---- night 2: the same array again. Each task finds its shard's catalogue
# (copied back last night), so nothing runs and no output is touched; shard 0
# still exits 3, its corrupt input still quarantined.
touch "$tmp/work/night1.mark"
sleep 1 # mtimes to the second on some file systems
array2_jid=$(submit carbonflux-array.sbatch --array=0-2 --output="$tmp/work/slurm-%A_%a.out")
wait_jobs "$array2_jid"
echo "slurm_one_node: night 2 ended after $(($(date +%s) - t0)) s"
check_shard_exits "$array2_jid"
check_summary "$array2_jid" 0 3 "items: 3 considered, 0 to run (0 new, 0 changed or rerun), 2 skipped (unchanged), 1 still quarantined" \
  "ran: 0 done, 0 quarantined, 0 failed, 0 cancelled"
for k in 1 2; do
  check_summary "$array2_jid" $k 0 "items: 2 considered, 0 to run (0 new, 0 changed or rerun), 2 skipped (unchanged), 0 still quarantined" \
    "ran: 0 done, 0 quarantined, 0 failed, 0 cancelled"
done
check_catalogue 0 2 l0_1.h5=done l0_3x.h5=quarantined l0_6.h5=done
check_catalogue 1 2 l0_2.h5=done l0_4.h5=done
check_catalogue 2 2 l0_3.h5=done l0_5.h5=done
touched=$(find "$tmp/work/l2" "$tmp/work/ql" -newer "$tmp/work/night1.mark" | head -3)
[ -z "$touched" ] || fail "night 2 rewrote outputs: $touched"
echo "slurm_one_node: passed in $(($(date +%s) - t0)) s"
