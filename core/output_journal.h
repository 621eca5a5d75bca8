/*
 * The outputs a run committed, so that a run that fails leaves none.
 *
 * Why. Each writer commits its own file atomically (core/fsutil.h), so
 * every file is whole; but a pipeline is several stages, and a stage that
 * fails after an earlier one committed its output (a pool map written,
 * then the zonal table refused: "polygon '0' covers no pixel centre")
 * used to leave that earlier output in place: a run that exits non-zero
 * with part of its products on disk, which a batch or a user then takes
 * for a result. Deferring the renames to the end is not an option: later
 * stages read earlier outputs by their final names (an L2 file, a ledger).
 * So while a journal is open, cf_atomic_commit notes each output it puts in
 * place, keeping the file it replaces under a hard link next to it; the
 * runner closes the journal when the run ends: on success the kept old
 * files go, on failure every output is taken back (the old file restored,
 * or the new one removed where there was none), newest first.
 */
#ifndef CF_CORE_OUTPUT_JOURNAL_H
#define CF_CORE_OUTPUT_JOURNAL_H

#include "carbonflux/ctx.h"

/* Start noting commits in `ctx` (a journal already open is restarted:
 * its notes are kept as if the earlier run succeeded). CF_ENOMEM. */
int cf_output_journal_begin(cf_ctx *ctx);
/* Close the journal: `keep` nonzero keeps every output (and removes the
 * kept old files); zero undoes every commit, logging each file removed or
 * restored. Returns how many outputs were taken back. No-op if none open. */
int cf_output_journal_end(cf_ctx *ctx, int keep);
/* For cf_atomic_commit, before it renames `part_path` onto `final_path`:
 * if a journal is open, keep the existing final file (a hard link named
 * after the part file) and note the commit. Where the file system has no
 * hard links the old file cannot be kept: a failed run then removes the
 * new file and says the old one is gone. */
void cf_output_journal_note(cf_ctx *ctx, const char *final_path, const char *part_path);
/* After a failed rename: forget the last note for `final_path`. */
void cf_output_journal_forget(cf_ctx *ctx, const char *final_path);

#endif
