#!/bin/sh
# The install target: library, headers, command, pipelines and a relocatable
# pkg-config file. Installs the build tree into a temporary prefix, builds a
# consumer with `pkg-config --cflags --libs carbonflux`, and runs it and the
# installed command. Arguments: BUILD_DIR C_COMPILER
set -eu
build=$1
cc=$2
prefix=$(mktemp -d "${TMPDIR:-/tmp}/cfinstall-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" > "$prefix/install.log"
for f in bin/carbonflux lib/pkgconfig/carbonflux.pc include/carbonflux/ctx.h include/carbonflux/pipeline.h \
         share/carbonflux/pipelines/demo.yaml share/carbonflux/pipelines/lidar-l2.yaml; do
  [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
cat > "$prefix/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <carbonflux/ctx.h>
#include <carbonflux/pipeline.h>
int main(void) {
  cf_ctx *ctx = cf_ctx_create();
  int ok = ctx && strlen(cf_version()) > 0 && cf_shipped_pipeline("demo.yaml") != NULL;
  cf_ctx_destroy(ctx);
  puts(ok ? "consumer ok" : "consumer FAILED");
  return !ok;
}
C
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs carbonflux)
# shellcheck disable=SC2086
"$cc" -std=c11 "$prefix/use.c" -o "$prefix/use" $flags -Wl,-rpath,"$prefix/lib"
"$prefix/use"
"$prefix/bin/carbonflux" --version
echo "1 passed, 0 failed"
