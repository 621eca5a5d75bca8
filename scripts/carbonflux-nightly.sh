#!/bin/sh
# The nightly carbonflux batch, as cron (scripts/cron/carbonflux.cron) and a
# systemd timer (scripts/systemd/carbonflux-nightly.*) run it: one JSON-lines log
# and one summary file per night, the summary also on stdout (cron mails it to
# MAILTO; systemd keeps it in the journal) when something needs a look, and
# carbonflux's exit code (README, "Exit codes").
#
#   carbonflux-nightly.sh [ENVFILE]
#
# What to change: nothing here. The settings are environment variables, read from
# ENVFILE when it is given (cron), or set by systemd's EnvironmentFile=; see
# scripts/systemd/carbonflux.env for each of them. Overlapping runs are kept
# apart by the caller (flock in the cron line and in the service's ExecStart).
set -u
if [ $# -ge 1 ]; then
  set -a # export every setting, as systemd does: GDAL and HDF5 read theirs from the environment
  # shellcheck disable=SC1090  # the file is the site's
  . "$1" || exit 1
  set +a
fi
CARBONFLUX=${CARBONFLUX:-carbonflux}
CF_PIPELINE=${CF_PIPELINE:?CF_PIPELINE is not set (the pipeline YAML)}
CF_INPUTS=${CF_INPUTS:?CF_INPUTS is not set (a glob of inputs)}
CF_SET=${CF_SET:-}
CF_STATE_DIR=${CF_STATE_DIR:-/var/lib/carbonflux}
CF_LOG_DIR=${CF_LOG_DIR:-/var/log/carbonflux}
CF_THREADS=${CF_THREADS:-}
CF_MAIL=${CF_MAIL:-problems} # problems: print the summary when the exit code is not 0; always

stamp=$(date -u +%Y%m%dT%H%M%SZ)
log=$CF_LOG_DIR/nightly-$stamp.jsonl
summary=$CF_LOG_DIR/nightly-$stamp.summary
mkdir -p "$CF_LOG_DIR" "$CF_STATE_DIR" || exit 2
threads=
[ -n "$CF_THREADS" ] && threads="--threads $CF_THREADS"
set -f
sets=
for s in $CF_SET; do sets="$sets --set $s"; done
set +f

# ---- The command: only new or changed inputs. Its summary goes to a file
# (stdout would be mailed every night); its log lines to the log.
# shellcheck disable=SC2086  # $threads and $sets are lists of words by design
"$CARBONFLUX" $threads --log-format json \
  batch "$CF_PIPELINE" --inputs "$CF_INPUTS" --catalogue "$CF_STATE_DIR/catalogue.sqlite" \
  --summary "$summary.batch" $sets >/dev/null 2>>"$log"
rc=$?

case $rc in
  0) meaning="every input done or unchanged" ;;
  3) meaning="some inputs quarantined (this night or still from an earlier one), the others done" ;;
  4) meaning="every input quarantined" ;;
  1) meaning="usage or configuration error: nothing run" ;;
  *) meaning="processing failure" ;;
esac
{
  echo "carbonflux nightly $stamp on $(hostname): exit $rc, $meaning"
  echo "log: $log"
  # batch's own summary: counts, and each input quarantined with its reason
  if [ -f "$summary.batch" ]; then cat "$summary.batch" && rm -f "$summary.batch"; fi
} >"$summary"
if [ "$rc" -ne 0 ] || [ "$CF_MAIL" = always ]; then
  cat "$summary"
fi
exit "$rc"
