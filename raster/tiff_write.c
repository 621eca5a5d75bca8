/* The COG layout from compressed tiles; see tiff_write.h. */
#define _GNU_SOURCE /* copy_file_range */
#include "raster/tiff_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"

static uint64_t bigtiff_threshold = 0xFFFFFFFFu;

void cf_cog_set_bigtiff_threshold(uint64_t bytes) { bigtiff_threshold = bytes ? bytes : 0xFFFFFFFFu; }

/* --- reading tags from a template ------------------------------------------ */

static int type_size(int type) {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;
    case 3: case 8: return 2;
    case 4: case 9: case 11: case 13: return 4;
    case 5: case 10: case 12: case 16: case 17: case 18: return 8;
    default: return 0;
  }
}

static uint64_t get_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void cf_tiff_tags_free(cf_tiff_tags *t) {
  for (int i = 0; i < t->n; i++) free(t->tags[i].bytes);
  free(t->tags);
  t->tags = NULL;
  t->n = 0;
}

int cf_tiff_read_tags(const uint8_t *buf, size_t n, const uint16_t *keep, int nkeep, cf_tiff_tags *out, char *err,
                      size_t errn) {
  memset(out, 0, sizeof *out);
  if (n < 16 || buf[0] != 'I' || buf[1] != 'I') return snprintf(err, errn, "not a little-endian TIFF"), -1;
  int version = (int)get_le(buf + 2, 2), big = version == 43;
  if (version != 42 && !big) return snprintf(err, errn, "not a TIFF (version %d)", version), -1;
  uint64_t ifd = big ? get_le(buf + 8, 8) : get_le(buf + 4, 4);
  int cnt_bytes = big ? 8 : 2, entry = big ? 20 : 12, inline_max = big ? 8 : 4;
  if (ifd + cnt_bytes > n) return snprintf(err, errn, "first IFD at %llu is outside the file", (unsigned long long)ifd), -1;
  uint64_t nent = get_le(buf + ifd, cnt_bytes);
  if (ifd + cnt_bytes + nent * entry > n) return snprintf(err, errn, "first IFD runs past the end of the file"), -1;
  out->tags = calloc((size_t)nkeep, sizeof *out->tags);
  if (!out->tags) return snprintf(err, errn, "out of memory"), -1;
  for (uint64_t e = 0; e < nent; e++) {
    const uint8_t *p = buf + ifd + cnt_bytes + e * entry;
    uint16_t tag = (uint16_t)get_le(p, 2), type = (uint16_t)get_le(p + 2, 2);
    int wanted = 0;
    for (int k = 0; k < nkeep; k++) wanted |= keep[k] == tag;
    if (!wanted) continue;
    uint64_t count = big ? get_le(p + 4, 8) : get_le(p + 4, 4);
    int ts = type_size(type);
    if (!ts || count > n) return cf_tiff_tags_free(out), snprintf(err, errn, "tag %u has an unknown type %u", tag, type), -1;
    size_t nbytes = (size_t)(count * ts);
    const uint8_t *val = p + (big ? 12 : 8);
    if (nbytes > (size_t)inline_max) {
      uint64_t off = get_le(val, big ? 8 : 4);
      if (off + nbytes > n) return cf_tiff_tags_free(out), snprintf(err, errn, "tag %u's value is outside the file", tag), -1;
      val = buf + off;
    }
    cf_tiff_tag *t = &out->tags[out->n++];
    t->tag = tag, t->type = type, t->count = count, t->nbytes = nbytes;
    t->bytes = malloc(nbytes ? nbytes : 1);
    if (!t->bytes) return cf_tiff_tags_free(out), snprintf(err, errn, "out of memory"), -1;
    memcpy(t->bytes, val, nbytes);
  }
  return 0;
}

/* --- the IFDs ------------------------------------------------------------------ */

/* One IFD being built: entries in ascending tag order, values by pointer. */
typedef struct {
  cf_tiff_tag e[40];
  int n;
  uint8_t scratch[40][16]; /* small values made here */
} ifd_build;

static void add_raw(ifd_build *b, uint16_t tag, uint16_t type, uint64_t count, const void *bytes, size_t nbytes) {
  cf_tiff_tag *t = &b->e[b->n++];
  t->tag = tag, t->type = type, t->count = count, t->bytes = (uint8_t *)bytes, t->nbytes = nbytes;
}

static void add_short(ifd_build *b, uint16_t tag, unsigned v) {
  uint8_t *s = b->scratch[b->n];
  put_le(s, v, 2);
  add_raw(b, tag, 3, 1, s, 2);
}

static void add_long(ifd_build *b, uint16_t tag, uint32_t v) {
  uint8_t *s = b->scratch[b->n];
  put_le(s, v, 4);
  add_raw(b, tag, 4, 1, s, 4);
}

/* Bytes of an IFD with its out-of-line values (each kept at an even offset). */
static uint64_t ifd_bytes(const ifd_build *b, int big) {
  uint64_t n = big ? 8 + (uint64_t)b->n * 20 + 8 : 2 + (uint64_t)b->n * 12 + 4;
  for (int i = 0; i < b->n; i++)
    if (b->e[i].nbytes > (big ? 8u : 4u)) n += (b->e[i].nbytes + 1) & ~(size_t)1;
  return n;
}

/* Serialize at file offset `at` into dst; `next` is the next IFD's offset. */
static void ifd_write(const ifd_build *b, int big, uint64_t at, uint64_t next, uint8_t *dst) {
  int cnt = big ? 8 : 2, entry = big ? 20 : 12, inl = big ? 8 : 4;
  put_le(dst, (uint64_t)b->n, cnt);
  uint64_t values = at + cnt + (uint64_t)b->n * entry + (big ? 8 : 4);
  uint8_t *vp = dst + (values - at);
  for (int i = 0; i < b->n; i++) {
    const cf_tiff_tag *t = &b->e[i];
    uint8_t *p = dst + cnt + (size_t)i * entry;
    put_le(p, t->tag, 2);
    put_le(p + 2, t->type, 2);
    put_le(p + 4, t->count, big ? 8 : 4);
    uint8_t *val = p + (big ? 12 : 8);
    memset(val, 0, (size_t)inl);
    if (t->nbytes <= (size_t)inl) {
      memcpy(val, t->bytes, t->nbytes);
    } else {
      put_le(val, values, inl);
      memcpy(vp, t->bytes, t->nbytes);
      size_t padded = (t->nbytes + 1) & ~(size_t)1;
      if (padded > t->nbytes) vp[t->nbytes] = 0;
      vp += padded, values += padded;
    }
  }
  put_le(dst + cnt + (size_t)b->n * entry, next, inl);
}

static const char ghost[] =
    "LAYOUT=IFDS_BEFORE_DATA\n"
    "BLOCK_ORDER=ROW_MAJOR\n"
    "BLOCK_LEADER=SIZE_AS_UINT4\n"
    "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\n"
    "KNOWN_INCOMPATIBLE_EDITION=NO\n "; /* GDAL's text, its closing space included */

/* Everything one level's IFD needs; offsets and counts are filled later. */
typedef struct {
  ifd_build b;
  uint8_t *bits, *fmt, *extra; /* per band: BitsPerSample, SampleFormat, ExtraSamples */
  uint8_t *offsets, *counts;
} level_ifd;

static int build_ifd(level_ifd *li, const cf_cog_layout *L, int k, int big) {
  const cf_cog_level *lv = &L->levels[k];
  int nt = lv->ntx * lv->nty, nb = L->nbands;
  ifd_build *b = &li->b;
  b->n = 0;
  int ws = big ? 8 : 4;
  li->offsets = calloc((size_t)nt, (size_t)ws);
  li->counts = calloc((size_t)nt, 4);
  uint8_t *bits = li->bits = malloc((size_t)nb * 2);
  uint8_t *fmt = li->fmt = malloc((size_t)nb * 2);
  uint8_t *extra = li->extra = malloc((size_t)nb * 2);
  if (!li->offsets || !li->counts || !bits || !fmt || !extra) return -1;
  /* GDAL's GTiff and COG drivers write 3 and 4 Byte bands as RGB(A):
   * Photometric RGB, a 4th band as unassociated alpha (ExtraSamples 2); so
   * do we, or a warped photo would come back as three grey bands */
  int rgb = L->bytes_per_sample == 1 && L->sample_format == 1 && (nb == 3 || nb == 4);
  int colour = rgb ? 3 : 1; /* samples the photometric interpretation accounts for */
  for (int i = 0; i < nb; i++) {
    put_le(bits + 2 * i, (uint64_t)L->bytes_per_sample * 8, 2);
    put_le(fmt + 2 * i, (uint64_t)L->sample_format, 2);
    put_le(extra + 2 * i, rgb ? 2 : 0, 2); /* unassociated alpha / unspecified, as GDAL writes */
  }
  if (k > 0) add_long(b, 254, 1); /* NewSubfileType: reduced-resolution image */
  add_long(b, 256, (uint32_t)lv->width);
  add_long(b, 257, (uint32_t)lv->height);
  add_raw(b, 258, 3, (uint64_t)nb, bits, (size_t)nb * 2);
  add_short(b, 259, (unsigned)L->compression);
  add_short(b, 262, rgb ? 2 : 1); /* RGB or BlackIsZero */
  add_short(b, 277, (unsigned)nb);
  add_short(b, 284, 1); /* pixel-interleaved, as GDAL's COG */
  add_short(b, 317, (unsigned)L->predictor);
  add_long(b, 322, (uint32_t)L->tile);
  add_long(b, 323, (uint32_t)L->tile);
  add_raw(b, 324, big ? 16 : 4, (uint64_t)nt, li->offsets, (size_t)nt * ws);
  add_raw(b, 325, 4, (uint64_t)nt, li->counts, (size_t)nt * 4);
  if (nb > colour) add_raw(b, 338, 3, (uint64_t)(nb - colour), extra, (size_t)(nb - colour) * 2);
  add_raw(b, 339, 3, (uint64_t)nb, fmt, (size_t)nb * 2);
  const cf_tiff_tags *copy = k == 0 ? L->main_tags : L->ovr_tags;
  for (int i = 0; copy && i < copy->n && b->n < 40; i++) b->e[b->n++] = copy->tags[i];
  return 0;
}

static void free_ifd(level_ifd *li) {
  free(li->offsets);
  free(li->counts);
  free(li->bits);
  free(li->fmt);
  free(li->extra);
  memset(li, 0, sizeof *li);
}

/* The reason of a failed write, for the message. */
static const char *write_reason(const char *path, int e) {
  int why = cf_write_errno(path, e, 0);
  return strerror(why ? why : e);
}

/* Copy n bytes from in_fd at `off` to out_fd at `to`, positionally, so
 * that threads may copy different ranges at once. 0, or -1 with errno. */
static int copy_range(int in_fd, uint64_t off, int out_fd, uint64_t to, size_t n) {
  loff_t o = (loff_t)off, t = (loff_t)to;
  while (n > 0) {
    ssize_t c = copy_file_range(in_fd, &o, out_fd, &t, n, 0);
    if (c < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) break;
    if (c < 0) return -1;
    if (c == 0) return errno = EIO, -1; /* the scratch file is shorter than recorded */
    n -= (size_t)c;
  }
  char buf[1 << 16];
  while (n > 0) { /* copy_file_range not available here: plain reads and writes */
    size_t want = n < sizeof buf ? n : sizeof buf;
    ssize_t r = pread(in_fd, buf, want, (off_t)o);
    if (r <= 0) return r == 0 ? (errno = EIO, -1) : -1;
    for (ssize_t done = 0; done < r;) {
      ssize_t w = pwrite(out_fd, buf + done, (size_t)(r - done), (off_t)(t + done));
      if (w < 0) return -1;
      done += w;
    }
    o += r, t += r, n -= (size_t)r;
  }
  return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

int cf_cog_assemble(cf_ctx *ctx, const cf_cog_layout *L, int scratch_fd, int out_fd, const char *path, double p0,
                    double p1) {
  int nl = L->nlevels, rc = CF_OK;
  level_ifd *ifds = calloc((size_t)nl, sizeof *ifds);
  uint64_t *ifd_at = calloc((size_t)nl + 1, sizeof *ifd_at);
  uint8_t *head = NULL;
  if (!ifds || !ifd_at) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  uint64_t data = 0;
  for (int k = 0; k < nl; k++)
    for (int i = 0; i < L->levels[k].ntx * L->levels[k].nty; i++)
      data += L->levels[k].data_bytes[i] + CF_COG_BLOB_EXTRA;
  char ghost_head[64];
  snprintf(ghost_head, sizeof ghost_head, "GDAL_STRUCTURAL_METADATA_SIZE=%06d bytes\n", (int)strlen(ghost));
  int big = 0;
  uint64_t head_bytes = 0;
  for (;; big = 1) {
    for (int k = 0; k < nl; k++) {
      free_ifd(&ifds[k]);
      if (build_ifd(&ifds[k], L, k, big)) {
        rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
        goto done;
      }
    }
    uint64_t at = (big ? 16 : 8) + strlen(ghost_head) + strlen(ghost);
    at += at & 1; /* an IFD starts on a word boundary */
    for (int k = 0; k < nl; k++) ifd_at[k] = at, at += ifd_bytes(&ifds[k].b, big);
    head_bytes = ifd_at[nl] = at;
    if (big || head_bytes + data <= bigtiff_threshold) break;
  }
  /* tile offsets: smallest overview first, each level row-major */
  uint64_t pos = head_bytes;
  int ws = big ? 8 : 4;
  for (int k = nl - 1; k >= 0; k--) {
    const cf_cog_level *lv = &L->levels[k];
    for (int i = 0; i < lv->ntx * lv->nty; i++) {
      put_le(ifds[k].offsets + (size_t)i * ws, pos + 4, ws);
      put_le(ifds[k].counts + (size_t)i * 4, lv->data_bytes[i], 4);
      pos += lv->data_bytes[i] + CF_COG_BLOB_EXTRA;
    }
  }
  head = calloc(1, (size_t)head_bytes);
  if (!head) {
    rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
    goto done;
  }
  memcpy(head, "II", 2);
  if (big) {
    put_le(head + 2, 43, 2), put_le(head + 4, 8, 2), put_le(head + 8, ifd_at[0], 8);
  } else {
    put_le(head + 2, 42, 2), put_le(head + 4, ifd_at[0], 4);
  }
  size_t gh = (size_t)(big ? 16 : 8);
  memcpy(head + gh, ghost_head, strlen(ghost_head));
  memcpy(head + gh + strlen(ghost_head), ghost, strlen(ghost));
  for (int k = 0; k < nl; k++) ifd_write(&ifds[k].b, big, ifd_at[k], k + 1 < nl ? ifd_at[k + 1] : 0, head + ifd_at[k]);
  if (write_all(out_fd, head, (size_t)head_bytes)) {
    int e = errno;
    rc = cf_error(ctx, CF_EIO, path, "", "writing the COG's header failed: %s", write_reason(path, e));
    goto done;
  }
  /* the tiles, level by level (progress), each level's tiles copied by
   * nthreads threads at their final offsets: the copy is the kernel's
   * memcpy between page caches, a few seconds for a gigabyte on one core */
  uint64_t copied = 0, at = head_bytes;
  for (int k = nl - 1; k >= 0; k--) {
    const cf_cog_level *lv = &L->levels[k];
    int nt = lv->ntx * lv->nty, failed_errno = 0, stop = 0;
    uint64_t *to = malloc((size_t)nt * sizeof *to);
    if (!to) {
      rc = cf_error(ctx, CF_ENOMEM, path, "", "out of memory");
      goto done;
    }
    for (int i = 0; i < nt; i++) to[i] = at, at += lv->data_bytes[i] + CF_COG_BLOB_EXTRA;
#pragma omp parallel for num_threads(L->nthreads > 0 ? L->nthreads : 1) schedule(dynamic, 4)
    for (int i = 0; i < nt; i++) {
      int seen;
#pragma omp atomic read
      seen = stop;
      if (seen) continue;
      if (copy_range(scratch_fd, lv->blob_off[i], out_fd, to[i], lv->data_bytes[i] + CF_COG_BLOB_EXTRA)) {
        int e = errno ? errno : EIO; /* before the lock, whose futex may set errno */
#pragma omp critical(cf_cog_assemble)
        if (!failed_errno) failed_errno = e; /* read after the loop's barrier */
#pragma omp atomic write
        stop = 1;
      }
    }
    free(to);
    if (failed_errno) {
      rc = cf_error(ctx, CF_EIO, path, "", "writing the COG's tiles failed: %s", write_reason(path, failed_errno));
      goto done;
    }
    copied = at - head_bytes;
    if (cf_progress(ctx, p0 + (p1 - p0) * (double)copied / (double)(data ? data : 1), path)) {
      rc = CF_ECANCEL;
      goto done;
    }
  }
done:
  if (ifds)
    for (int k = 0; k < nl; k++) free_ifd(&ifds[k]);
  free(ifds);
  free(ifd_at);
  free(head);
  return rc;
}
