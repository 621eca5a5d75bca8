#!/bin/sh
# carbonflux set-up on Debian 12, as root: install the Debian packages that
# are missing, build (warnings are errors), then
#   setup.sh demo   run `carbonflux demo` on the embedded demo data, or
#   setup.sh test   run the whole test suite (with the one-node Slurm test,
#                   tests/slurm_one_node.sh, about 30 s), then again built with
#                   AddressSanitizer and UndefinedBehaviorSanitizer, then
#                   the short run of each libFuzzer harness (fuzz/).
# Nothing is downloaded but Debian packages; nothing is vendored.
set -eu
mode=${1:-demo}
case $mode in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 1 ;; esac
cd "$(dirname "$0")/.."

# Every package, and why, is listed in the README ("Dependencies").
PACKAGES="build-essential cmake pkg-config
  libgdal-dev gdal-bin python3-gdal python3-numpy
  libhdf5-dev hdf5-tools libfftw3-dev libproj-dev proj-bin
  libnetcdf-dev netcdf-bin liblapacke-dev libopenblas-dev
  libyaml-dev libsqlite3-dev sqlite3 libplplot-dev plplot-driver-cairo libssl-dev libdeflate-dev libzstd-dev
  python3-xarray python3-netcdf4 python3-h5py
  libcmocka-dev chromium clang libclang-rt-14-dev libomp-14-dev
  munge slurmctld slurmd slurm-client libopenmpi-dev openmpi-bin"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

jobs=$(nproc)
cmake -S . -B build -DCF_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"

if [ "$mode" = demo ]; then
  ./build/carbonflux demo --out carbonflux-demo
  exit 0
fi

ctest --test-dir build --output-on-failure -j"$jobs"

# The same suite under the sanitizers. Leak checking stays on; the few
# allocations GDAL and PROJ keep for the life of the process are listed
# in tests/lsan.supp.
cmake -S . -B build-asan -DCF_WERROR=ON -DCF_SANITIZE=ON -DCF_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

# The fuzzers' short run (README, "Fuzzing"): the harnesses built by clang
# with libFuzzer, ASan and UBSan, each over its committed seeds and then
# CF_FUZZ_SECONDS (25) of mutation; a crash, leak or timeout fails.
CC=clang cmake -S . -B build-fuzz -DCF_FUZZ=ON -DCF_WERROR=ON -DCF_BUILD_TESTS=OFF -DCF_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz --output-on-failure -L fuzz -j"$jobs"
