# Sourced (after `set -eu`) by the scheduling tests: nightly_cron.sh,
# array_sigterm.sh and slurm_one_node.sh. Each defines fail().

# sched_args "$@": the one argument, the program; sets repo (the source tree)
# and cf (the program, as an absolute path: the jobs run elsewhere).
sched_args() {
  if [ $# -ne 1 ]; then
    echo "usage: $0 path/to/carbonflux" >&2
    exit 1
  fi
  # shellcheck disable=SC2034  # repo and cf are for the sourcing script
  repo=$(cd "$(dirname "$0")/.." && pwd)
  cf=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  [ -x "$cf" ] || { echo "$0: $1 is not an executable" >&2; exit 1; }
}

# simulate_small OUT.h5 SEED: a small simulated L0 file, quick to process
# (about 1 s): 2 VAD scans of 24 rays (48 rays), 10 gates; its truth beside it.
simulate_small() {
  nice -n 10 "$cf" -q simulate lidar -o "$1" --truth "${1%.h5}_truth.nc" \
    scans=2 gates=10 fft_size=128 gate_samples=100 gate_step=100 gate_first=100 seed="$2" ||
    fail "carbonflux simulate lidar seed=$2 failed"
}
