/*
 * Ranks (core/par.h): MPI when the build has it (CF_HAVE_MPI, set for this
 * file only by CMake), the one-rank identities otherwise. The two halves
 * share the argument checks and cf_par_owner; nothing else of ours
 * includes mpi.h.
 */
#include "core/par.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx_internal.h"

#define WHERE "mpi"

/* Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE (also for -n 1); Slurm's srun
 * sets PMI_SIZE (PMI-2) or PMIX_RANK with SLURM_STEP_NUM_TASKS (PMIx) for
 * every task, MPI or not, so there only more than one task counts: a
 * one-task srun of a job-array element stays a plain run. */
static long env_long(const char *name) {
  const char *v = getenv(name);
  return v ? strtol(v, NULL, 10) : 0;
}

long cf_par_launched(void) {
  long n = env_long("OMPI_COMM_WORLD_SIZE");
  if (n > 0) return n;
  if ((n = env_long("PMI_SIZE")) > 1) return n;
  if (getenv("PMIX_RANK") && (n = env_long("SLURM_STEP_NUM_TASKS")) > 1) return n;
  return 0;
}

int cf_par_owner(long index, long count, int size) {
  if (count <= 0 || size <= 1 || index <= 0) return 0;
  if (index >= count) return size - 1;
  /* floor(index * size / count) without overflow for any long count */
  return (int)((long double)index * size / count);
}

/* cf_par_gather on one rank: a copy. */
static int gather_one(cf_ctx *ctx, const void *buf, size_t len, void **all) {
  *all = malloc(len + 1);
  if (!*all) return cf_error(ctx, CF_ENOMEM, WHERE, "gather", "out of memory");
  memcpy(*all, buf, len);
  return CF_OK;
}

void cf_ctx_set_par(cf_ctx *ctx, cf_par *par) { ctx->par = par; }
cf_par *cf_ctx_par(const cf_ctx *ctx) { return ctx ? ctx->par : NULL; }

#ifdef CF_HAVE_MPI
#include <mpi.h>

struct cf_par {
  int rank, size;
};

/* MPI counts are ints: move big buffers in pieces of this many bytes. */
#define PIECE ((size_t)1 << 30)

int cf_par_available(void) { return 1; }

static int mpi_error(cf_ctx *ctx, const char *what, int err) {
  char msg[MPI_MAX_ERROR_STRING];
  int n = 0;
  if (MPI_Error_string(err, msg, &n) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", err);
  return cf_error(ctx, CF_EINTERNAL, WHERE, what, "%s", msg);
}

int cf_par_init(cf_ctx *ctx, int *argc, char ***argv, cf_par **out) {
  *out = NULL;
  int provided = MPI_THREAD_SINGLE;
  int err = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  if (err != MPI_SUCCESS) return mpi_error(ctx, "MPI_Init_thread", err);
  /* errors come back as codes, reported through the context */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_FUNNELED) {
    const char *name = provided == MPI_THREAD_SINGLE ? "MPI_THREAD_SINGLE" : "an unknown level";
    MPI_Finalize();
    return cf_error(ctx, CF_EINVAL, WHERE, "thread level",
                    "the MPI library provides %s; carbonflux runs OpenMP threads in every rank and needs "
                    "MPI_THREAD_FUNNELED (build Open MPI with thread support)",
                    name);
  }
  cf_par *p = calloc(1, sizeof *p);
  if (!p) {
    MPI_Finalize();
    return cf_error(ctx, CF_ENOMEM, WHERE, "", "out of memory");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &p->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p->size);
  *out = p;
  return CF_OK;
}

void cf_par_finalize(cf_par *par) {
  if (!par) return;
  MPI_Finalize();
  free(par);
}

void cf_par_abort(cf_par *par, int code) {
  if (par) MPI_Abort(MPI_COMM_WORLD, code);
}

int cf_par_rank(const cf_par *par) { return par ? par->rank : 0; }
int cf_par_size(const cf_par *par) { return par ? par->size : 1; }

int cf_par_bcast(cf_ctx *ctx, const cf_par *par, void *buf, size_t len, int root) {
  if (!par || par->size == 1) return CF_OK;
  for (size_t at = 0; at < len; at += PIECE) {
    size_t n = len - at < PIECE ? len - at : PIECE;
    int err = MPI_Bcast((char *)buf + at, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
    if (err != MPI_SUCCESS) return mpi_error(ctx, "MPI_Bcast", err);
  }
  return CF_OK;
}

int cf_par_send(cf_ctx *ctx, const cf_par *par, int dest, int tag, const void *buf, size_t len) {
  if (!par) return cf_error(ctx, CF_EINVAL, WHERE, "send", "one rank: nobody to send to");
  if (len > INT_MAX) return cf_error(ctx, CF_EINVAL, WHERE, "send", "message of %zu bytes too long", len);
  int err = MPI_Send(buf, (int)len, MPI_BYTE, dest, tag, MPI_COMM_WORLD);
  return err == MPI_SUCCESS ? CF_OK : mpi_error(ctx, "MPI_Send", err);
}

int cf_par_recv(cf_ctx *ctx, const cf_par *par, int tag, int wait, int *src, void **buf, size_t *len) {
  *buf = NULL;
  *len = 0;
  if (!par) return 0;
  MPI_Status st;
  int err, flag = 1;
  if (wait)
    err = MPI_Probe(MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &st);
  else
    err = MPI_Iprobe(MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &flag, &st);
  if (err != MPI_SUCCESS) return mpi_error(ctx, "MPI_Probe", err);
  if (!flag) return 0;
  int n = 0;
  MPI_Get_count(&st, MPI_BYTE, &n);
  char *b = malloc((size_t)n + 1); /* +1: a text message can be ended */
  if (!b) return cf_error(ctx, CF_ENOMEM, WHERE, "recv", "out of memory for %d bytes", n);
  err = MPI_Recv(b, n, MPI_BYTE, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (err != MPI_SUCCESS) {
    free(b);
    return mpi_error(ctx, "MPI_Recv", err);
  }
  b[n] = '\0';
  *src = st.MPI_SOURCE;
  *buf = b;
  *len = (size_t)n;
  return 1;
}

int cf_par_gather(cf_ctx *ctx, const cf_par *par, const void *buf, size_t len, void **all) {
  *all = NULL;
  if (!par) return gather_one(ctx, buf, len, all); /* launched without mpirun */
  int size = par->size, rank = par->rank;
  if (len > INT_MAX / (size_t)size) return cf_error(ctx, CF_EINVAL, WHERE, "gather", "%zu bytes a rank: too long", len);
  if (rank == 0) {
    *all = malloc(len * (size_t)size + 1);
    if (!*all) return cf_error(ctx, CF_ENOMEM, WHERE, "gather", "out of memory");
  }
  int err = MPI_Gather(buf, (int)len, MPI_BYTE, *all, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
  if (err != MPI_SUCCESS) {
    free(*all);
    *all = NULL;
    return mpi_error(ctx, "MPI_Gather", err);
  }
  return CF_OK;
}

#else /* one rank: the identities */

int cf_par_available(void) { return 0; }

int cf_par_init(cf_ctx *ctx, int *argc, char ***argv, cf_par **out) {
  *out = NULL;
  return CF_OK;
}
void cf_par_finalize(cf_par *par) {}
void cf_par_abort(cf_par *par, int code) {}
int cf_par_rank(const cf_par *par) { return 0; }
int cf_par_size(const cf_par *par) { return 1; }
int cf_par_bcast(cf_ctx *ctx, const cf_par *par, void *buf, size_t len, int root) { return CF_OK; }
int cf_par_send(cf_ctx *ctx, const cf_par *par, int dest, int tag, const void *buf, size_t len) {
  return cf_error(ctx, CF_EINVAL, WHERE, "send", "one rank: nobody to send to");
}
int cf_par_recv(cf_ctx *ctx, const cf_par *par, int tag, int wait, int *src, void **buf, size_t *len) {
  *buf = NULL;
  *len = 0;
  return 0;
}
int cf_par_gather(cf_ctx *ctx, const cf_par *par, const void *buf, size_t len, void **all) {
  return gather_one(ctx, buf, len, all);
}

#endif
