/*
 * Ranks: the thin layer between carbonflux and MPI (README, "Running on
 * several nodes (MPI)").
 *
 * Why a layer. MPI is optional at build time (CMake CF_MPI) and at run
 * time (a plain `carbonflux run` never touches it): everything above this
 * file is written once, against a handle that is the one-rank identity
 * when there is no MPI (rank 0 of 1; broadcast, gather and point-to-point
 * calls are no-ops or plain copies). Only core/par.c includes mpi.h.
 *
 * Explicit, as PROJ: the handle is made by cf_par_init in the command's
 * main(), attached to the context (cf_ctx_set_par) by whoever wants the
 * work spread, and read back with cf_ctx_par. There is no global of ours;
 * MPI's own state (MPI_COMM_WORLD) is the only one. A NULL handle is one
 * rank: library code calls cf_par_rank(cf_ctx_par(ctx)) without checks.
 *
 * Hybrid MPI + OpenMP. MPI is started with MPI_THREAD_FUNNELED: OpenMP
 * threads compute, only the thread that called cf_par_init calls MPI. A
 * library that provides less refuses to start, with a clear error.
 *
 * Forked children (core/isolate.h: each batch item runs in one) never call
 * MPI: cf_par_run_items detaches the handle from the context while items
 * run, so the code in a child sees one rank. They _exit(), so MPI's
 * atexit handlers stay the parent's.
 *
 * Invariants:
 *   - every collective (cf_par_bcast, cf_par_gather) is called by every
 *     rank, in the same order, with the same sizes;
 *   - messages carry bytes only: the layouts are the callers' (fixed-width
 *     integers and doubles, the same on every node of a cluster).
 */
#ifndef CF_CORE_PAR_H
#define CF_CORE_PAR_H

#include <stddef.h>

#include "carbonflux/ctx.h"

typedef struct cf_par cf_par;

/* The number of ranks an MPI launcher started (Open MPI's mpirun:
 * OMPI_COMM_WORLD_SIZE; srun with more than one task: PMI_SIZE, or
 * PMIX_RANK and SLURM_STEP_NUM_TASKS), 0 when none did, so that a plain
 * run never initialises MPI. */
long cf_par_launched(void);
/* Nonzero when this build has MPI. */
int cf_par_available(void);

/* Start MPI (MPI_THREAD_FUNNELED) and return the handle in *out. Without
 * MPI in the build, *out is NULL (one rank) and CF_OK. CF_EINVAL with the
 * provided level named if the MPI library is not thread-capable enough;
 * CF_EINTERNAL if MPI_Init_thread fails. */
int cf_par_init(cf_ctx *ctx, int *argc, char ***argv, cf_par **out);
/* MPI_Finalize and free the handle (NULL: nothing). */
void cf_par_finalize(cf_par *par);
/* End every rank now with `code` (MPI_Abort), for a rank that cannot go
 * on while the others wait in a collective. Without MPI: nothing. */
void cf_par_abort(cf_par *par, int code);

int cf_par_rank(const cf_par *par); /* 0 for NULL */
int cf_par_size(const cf_par *par); /* 1 for NULL */

/* The rank that owns piece `index` of `count` pieces split into `size`
 * contiguous runs: floor(index * size / count). The same on every rank
 * and in every rerun (it depends on nothing else). */
int cf_par_owner(long index, long count, int size);

/* Broadcast len bytes from `root` to every rank (any length: sent in
 * pieces below MPI's int counts). */
int cf_par_bcast(cf_ctx *ctx, const cf_par *par, void *buf, size_t len, int root);

/* Point to point, for reports to rank 0. Send len bytes to `dest` with a
 * tag (>= 0). */
int cf_par_send(cf_ctx *ctx, const cf_par *par, int dest, int tag, const void *buf, size_t len);
/* Receive one message with `tag` from any rank: *src, *buf (malloc'ed,
 * caller frees; NULL when len is 0) and *len. With wait = 0 returns 1 if
 * there was one and 0 if none is waiting (MPI_Iprobe), else blocks until
 * one comes. Negative CF_E* on error. */
int cf_par_recv(cf_ctx *ctx, const cf_par *par, int tag, int wait, int *src, void **buf, size_t *len);

/* Gather len bytes from every rank to rank 0, in rank order: on rank 0
 * *all gets size * len bytes (malloc'ed, caller frees), elsewhere NULL. */
int cf_par_gather(cf_ctx *ctx, const cf_par *par, const void *buf, size_t len, void **all);

/* A fixed-order reduction is built from these (lidar/flux/estimate_inversion.c):
 * each piece's partial is broadcast from its owner and every rank adds the
 * pieces in index order, so the sum has the same bits for any number of
 * ranks; a plain MPI_Reduce of per-rank partials would round differently
 * for each partition. */

/* The handle the context carries (NULL: one rank). The context does not
 * own it. */
void cf_ctx_set_par(cf_ctx *ctx, cf_par *par);
cf_par *cf_ctx_par(const cf_ctx *ctx);

#endif
