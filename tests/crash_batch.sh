#!/bin/bash
# Crash safety of the nightly batch (issue 11, item 2): kill it with SIGKILL
# at many random points, rerun it each time, and check that the end result
# is that of a run never interrupted.
#
#   tests/crash_batch.sh CARBONFLUX [SEED] [KILLS]
#
# The batch: 12 simulated lidar L0 files and one corrupted one (a text file
# named l99_bad.h5, which the L0 reader rejects) through lidar.yaml, and 10
# small GeoTIFFs through raster.yaml (NDVI to a COG), both recording into
# one catalogue (out/catalogue.sqlite): 23 inputs of two kinds. Each of the
# KILLS rounds (default 50) starts both batches in a new process group and
# SIGKILLs the whole group (the batch and its isolated item children, as a
# scheduler does) after a random delay of 0 to 1 s; a third of the rounds
# use --force over a random range of items (--items I:I+5), so that kills
# also land while finished outputs are being replaced, not only on the
# first pass. The delays come from bash's RANDOM seeded with SEED (default
# 11) and are printed, so a failing sequence can be replayed. Finally both
# batches run to completion, and:
#   - every output's SHA-256 equals that of the uninterrupted reference run
#     (SOURCE_DATE_EPOCH fixes the one clock reading in an L2 file, its CF
#     history line), and the same set of outputs exists;
#   - no part file (".NAME.part-PID-N") or other temporary file is left
#     anywhere under the tree;
#   - `PRAGMA integrity_check` of the catalogue (sqlite3 shell) says ok, no
#     run is left "running", at least one is "interrupted", and the latest
#     recorded output hashes of every input equal the files on disk;
#   - the corrupted input is quarantined in `status` with its reason, and
#     the lidar batch's exit code is 3.
set -u
CLI=$(realpath "${1:?usage: crash_batch.sh CARBONFLUX [SEED] [KILLS]}")
SEED=${2:-11}
KILLS=${3:-50}
command -v sqlite3 >/dev/null || { echo "crash_batch: the sqlite3 shell is missing (apt-get install sqlite3)"; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/cf_crash.XXXXXX")
trap 'rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=1700000000
fail() { echo "crash_batch: FAIL: $*"; exit 1; }

# --- the inputs and the pipelines ----------------------------------------------
mkdir -p "$W/src/lidar" "$W/src/tif" "$W/truth"
for i in $(seq -w 1 12); do
  "$CLI" -q simulate lidar -o "$W/src/lidar/l$i.h5" --truth "$W/truth/l${i}_truth.nc" \
    scans=1 rays_per_scan=6 gates=10 seed=$((10#$i)) || fail "simulate lidar $i"
done
echo "not an HDF5 file: a corrupted transfer" > "$W/src/lidar/l99_bad.h5"
/usr/bin/python3 - "$W/src/tif" <<'EOF' || fail "writing the GeoTIFFs"
import sys
import numpy as np
from osgeo import gdal, osr
srs = osr.SpatialReference()
srs.ImportFromEPSG(32650)
for k in range(10):
    d = gdal.GetDriverByName("GTiff").Create(f"{sys.argv[1]}/r{k:02d}.tif", 32, 32, 2, gdal.GDT_UInt16)
    d.SetGeoTransform((500000 + 960 * k, 30, 0, 4000000, 0, -30))
    d.SetProjection(srs.ExportToWkt())
    y, x = np.mgrid[0:32, 0:32]
    d.GetRasterBand(1).WriteArray((500 + 10 * x + k).astype(np.uint16))
    d.GetRasterBand(2).WriteArray((3000 + 20 * y + 7 * k).astype(np.uint16))
    d = None
EOF
cat > "$W/src/lidar.yaml" <<'EOF'
pipeline:
  - type: ingest.lidar_l0
    path: 'lidar/*.h5'
  - type: write.l2
    path: out/{stem}_l2.nc
EOF
cat > "$W/src/raster.yaml" <<'EOF'
pipeline:
  - type: ingest.raster
    path: 'tif/*.tif'
    bands: [red, nir]
  - type: raster.index
    index: ndvi
    scale: 0.0001
  - type: write.cog
    path: out/{stem}_ndvi.tif
EOF
cp -r "$W/src" "$W/ref"
cp -r "$W/src" "$W/run"

# both batches; the lidar one's exit code is the batch's (3: one quarantined)
batches() {
  local extra=$1
  cd "$2" || exit 9
  "$CLI" -q batch lidar.yaml --catalogue out/catalogue.sqlite $extra >/dev/null 2>>log.txt
  local code=$?
  "$CLI" -q batch raster.yaml --catalogue out/catalogue.sqlite $extra >/dev/null 2>>log.txt || code=$((code + 100))
  return $code
}

# --- the reference: never interrupted -----------------------------------------
t0=$(date +%s%N)
batches "" "$W/ref"
code=$?
[ $code -eq 3 ] || fail "reference run: exit $code, expected 3 (see $W/ref/log.txt)"
echo "crash_batch: reference run $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# --- killed again and again ---------------------------------------------------
RANDOM=$SEED
echo "crash_batch: seed $SEED, $KILLS kills"
for k in $(seq 1 "$KILLS"); do
  delay_ms=$((RANDOM % 1000))
  extra=""
  if [ $((RANDOM % 3)) -eq 0 ]; then
    first=$((RANDOM % 12))
    extra="--force --items $first:$((first + 5))"
  fi
  setsid bash -c "$(declare -f batches); CLI='$CLI'; batches '$extra' '$W/run'" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -KILL -- -"$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # the group is gone before the next round: no straggler writes afterwards
  for _ in $(seq 1 100); do pgrep -g "$pid" >/dev/null || break; sleep 0.05; done
  pgrep -g "$pid" >/dev/null && fail "round $k: processes of group $pid survived SIGKILL"
  echo "crash_batch: round $k: killed after $delay_ms ms${extra:+ ($extra)}"
done

# --- to completion, and the checks ----------------------------------------------
batches "" "$W/run"
code=$?
[ $code -eq 3 ] || fail "final run: exit $code, expected 3 (see $W/run/log.txt)"

(cd "$W/ref/out" && find . -type f ! -name 'catalogue.sqlite*' | sort | xargs sha256sum) > "$W/ref.sha"
(cd "$W/run/out" && find . -type f ! -name 'catalogue.sqlite*' | sort | xargs sha256sum) > "$W/run.sha"
n=$(wc -l < "$W/ref.sha")
[ "$n" -eq 22 ] || fail "the reference has $n outputs, expected 22 (12 L2 files, 10 COGs)"
diff "$W/ref.sha" "$W/run.sha" || fail "outputs differ from the uninterrupted run's"

left=$(find "$W/run" \( -name '.*.part-*' -o -name '*.tmp' -o -name '*~' \) -print)
[ -z "$left" ] || fail "temporary files left: $left"

cat="$W/run/out/catalogue.sqlite"
[ "$(sqlite3 "$cat" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check: $(sqlite3 "$cat" 'PRAGMA integrity_check')"
[ "$(sqlite3 "$cat" 'PRAGMA foreign_key_check' | wc -l)" -eq 0 ] || fail "foreign_key_check found rows"
running=$(sqlite3 "$cat" "select count(*) from runs where state='running'")
[ "$running" -eq 0 ] || fail "$running runs still marked running"
interrupted=$(sqlite3 "$cat" "select count(*) from runs where state='interrupted'")
[ "$interrupted" -ge 1 ] || fail "no run marked interrupted after $KILLS kills"
# the latest done item of every input: its recorded outputs are the files on disk
sqlite3 -separator '  ' "$cat" \
  "select o.sha256, o.path from outputs o join items i on i.id = o.item
   where i.id = (select max(id) from items j where j.input = i.input and j.status = 'done') order by o.path" \
  | sed 's|  out/|  ./|' > "$W/recorded.sha"
(cd "$W/run" && find out -type f ! -name 'catalogue.sqlite*' | sort | xargs sha256sum | sed 's|  out/|  ./|') > "$W/disk.sha"
diff "$W/recorded.sha" "$W/disk.sha" || fail "the catalogue's output hashes differ from the files"

(cd "$W/run" && "$CLI" status --catalogue out/catalogue.sqlite) > "$W/status.txt" || fail "status failed"
grep -q '^quarantined  lidar/l99_bad.h5: .*not an HDF5 file' "$W/status.txt" || { cat "$W/status.txt"; fail "bad input not quarantined with its reason"; }
grep -q '^inputs: 23 (done 22, quarantined 1, failed 0)' "$W/status.txt" || { cat "$W/status.txt"; fail "status counts"; }
echo "crash_batch: ok: $KILLS kills (seed $SEED), $interrupted runs interrupted, 22 outputs equal the reference, no temporary file, integrity ok, exit 3"
