/*
 * FFT plans made under one lock, measured once per machine.
 *
 * Why. FFTW_ESTIMATE picks an algorithm from a heuristic; FFTW_MEASURE
 * times the candidates and, for the raw path's 512-point r2c transform on
 * this project's machine, picked one about 12 % faster (issue 12). But
 * measuring costs a fraction of a second to seconds per size, so it is done
 * once per machine and kept: FFTW's "wisdom" (the measured choices) is
 * exported to a file and imported by the next process, which then plans
 * with FFTW_MEASURE at no cost.
 *
 * Where. $CARBONFLUX_FFTW_WISDOM if set (a path; "off" or "" keeps no
 * file: every process measures afresh), else
 * $XDG_CACHE_HOME/carbonflux/fftw-wisdom-<host> (~/.cache when
 * XDG_CACHE_HOME is unset). The host is in the name because wisdom is
 * only right for the machine that measured it (FFTW itself refuses
 * wisdom of another FFTW version or precision).
 *
 * Never an error. A missing, unreadable, corrupt or foreign file is
 * ignored with one log line and planning goes on (measuring); a cache that
 * cannot be written (read-only home, full disk) is logged and skipped. The
 * file is written only when planning added wisdom, through a part file
 * renamed into place (core/fsutil.h), so a reader never sees half a file
 * and two processes racing both leave a complete one.
 *
 * Threads. Only fftw_execute* is thread-safe (DESIGN.md): every plan and
 * destroy in this library goes through cf_fft_plan_* / cf_fft_destroy,
 * which hold one process-wide planner lock, as do wisdom import and export.
 *
 * Results. Different algorithms round differently, so the last bits of a
 * spectrum depend on the plan: within one process (one plan) results are
 * the same bits for any thread count; across machines or wisdom files they
 * agree within rounding (the accuracy tests' tolerances). Tests that need
 * the same bits across runs plan with FFTW_ESTIMATE (the `fft_plan`
 * setting, lidar/process_options.h), which never reads wisdom files.
 */
#ifndef CF_LIDAR_FFT_WISDOM_H
#define CF_LIDAR_FFT_WISDOM_H

#include <fftw3.h>

#include "carbonflux/ctx.h"

/* One r2c transform of n points on 16-byte aligned arrays (FFTW's own
 * allocation), executed later with fftw_execute_dft_r2c on any such
 * arrays. `flags` without FFTW_ESTIMATE first imports the wisdom file
 * (once per process) and afterwards exports new wisdom. NULL if FFTW
 * cannot plan. */
fftw_plan cf_fft_plan_r2c(cf_ctx *ctx, int n, unsigned flags);
/* A complex 1-D transform of n points (FFTW_FORWARD or FFTW_BACKWARD) on
 * fftw_alloc'ed arrays `in`, `out` (planning with FFTW_ESTIMATE does not
 * touch them). */
fftw_plan cf_fft_plan_dft_1d(int n, fftw_complex *in, fftw_complex *out, int sign, unsigned flags);
void cf_fft_destroy(fftw_plan p);

/* The wisdom file in use (malloc'ed), or NULL when none is kept. */
char *cf_fft_wisdom_path(void);

#endif
