/* The official CIFAR archives fetched with libcurl, the way users of
 * torchvision's download=True expect: a progress bar, a cut download resumed
 * with an HTTP Range request, retries with backoff, the md5 of the whole file
 * checked. The bytes go to DIR/FILE.part (which dlgn_data_resolve skips) and
 * become DIR/FILE only when whole and verified, so the loader never meets
 * half an archive. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlgn/data.h"
#include "dlgn/status.h"
#include "dlgn/util.h"

#define MAX_WAIT_S 30 /* the longest pause between two attempts */

/* One transfer into the .part file. */
typedef struct {
  CURL *curl;
  const char *part;
  FILE *f;              /* opened at the first body byte of a 200 or 206 answer */
  uint64_t have;        /* bytes in the .part before this transfer (0 after a 200) */
  uint64_t got;         /* body bytes written by this transfer */
  int64_t range_start;  /* first byte of the answer's Content-Range; -1: none */
  char why[512];        /* why the body callback stopped the transfer */
  uint64_t total, now;  /* bytes of this answer's body: expected (0: unknown), so far */
  bool progress, drawn;
  double start, last_draw;
} transfer;

static size_t on_header(char *line, size_t size, size_t count, void *arg) {
  transfer *t = arg;
  size_t len = size * count;
  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    t->range_start = -1; /* a new answer (the one after a redirect, say) */
  } else if (len > 14 && strncasecmp(line, "Content-Range:", 14) == 0) {
    char text[128];
    size_t n = len - 14 < sizeof text - 1 ? len - 14 : sizeof text - 1;
    memcpy(text, line + 14, n);
    text[n] = '\0';
    unsigned long long first;
    if (sscanf(text, " bytes %llu-", &first) == 1) t->range_start = (int64_t)first;
  }
  return len;
}

/* A 206 appends to the .part, but only when it starts where the .part ends;
 * a 200 (a server that ignores Range) starts the file over. */
static size_t on_body(char *p, size_t size, size_t count, void *arg) {
  transfer *t = arg;
  size_t len = size * count;
  if (!t->f) {
    long code = 0;
    if (curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) code = 0;
    const char *mode = "wb";
    if (code == 206 && t->have > 0 && t->range_start == (int64_t)t->have) {
      mode = "ab";
    } else if (code == 200) {
      t->have = 0;
    } else if (code == 206) {
      snprintf(t->why, sizeof t->why,
               "the server answered the request for the bytes from %" PRIu64
               " with a range from byte %" PRId64 " (remove %s to start over)",
               t->have, t->range_start, t->part);
      return 0;
    } else {
      snprintf(t->why, sizeof t->why, "unexpected HTTP status %ld with a body", code);
      return 0;
    }
    if (!(t->f = fopen(t->part, mode))) {
      snprintf(t->why, sizeof t->why, "cannot open %s: %s", t->part, strerror(errno));
      return 0;
    }
  }
  if (fwrite(p, 1, len, t->f) != len) {
    snprintf(t->why, sizeof t->why, "cannot write %s: %s", t->part, strerror(errno));
    return 0;
  }
  t->got += len;
  return len;
}

/* "\r 45% [#########           ]  76.9 / 170.0 MB  5.3 MB/s" on stderr. */
static void draw_bar(transfer *t) {
  double mb = 1e-6, rate = (double)t->now / (dlgn_now() - t->start + 1e-9);
  double have = (double)(t->have + t->now);
  t->drawn = true;
  if (t->total == 0) {
    fprintf(stderr, "\r  %7.1f MB  %5.1f MB/s ", have * mb, rate * mb);
  } else {
    double all = (double)(t->have + t->total), frac = have / all;
    char bar[31];
    for (int i = 0; i < 30; i++) bar[i] = i < (int)(frac * 30) ? '#' : ' ';
    bar[30] = '\0';
    fprintf(stderr, "\r%4.0f%% [%s] %7.1f / %.1f MB  %5.1f MB/s ", 100 * frac, bar, have * mb,
            all * mb, rate * mb);
  }
  fflush(stderr);
}

/* At most ten times a second; the transfer's end draws the last state. */
static int on_progress(void *arg, curl_off_t total, curl_off_t now, curl_off_t up_total,
                       curl_off_t up_now) {
  transfer *t = arg;
  t->total = total > 0 ? (uint64_t)total : 0;
  t->now = now > 0 ? (uint64_t)now : 0;
  double time = dlgn_now();
  if (t->progress && t->now > 0 && time - t->last_draw >= 0.1) {
    t->last_draw = time;
    draw_bar(t);
  }
  return 0;
}

/* Failures that another attempt may not meet: a cut connection, a stall, an
 * overloaded server. A refused connection or an unknown host is not one:
 * no network, or no server, is told at once. */
static bool is_transient(CURLcode rc, long code) {
  switch (rc) {
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    case CURLE_HTTP_RETURNED_ERROR:
      return code == 408 || code == 429 || code >= 500;
    default:
      return false;
  }
}

static void describe(char *out, size_t size, CURLcode rc, long code, const transfer *t,
                     const char *errbuf) {
  if (rc == CURLE_HTTP_RETURNED_ERROR)
    snprintf(out, size, "HTTP %ld%s", code, code == 404 ? " (no such file on the server)" : "");
  else if (rc == CURLE_WRITE_ERROR && t->why[0])
    snprintf(out, size, "%s", t->why);
  else
    snprintf(out, size, "%s%s", errbuf[0] ? errbuf : curl_easy_strerror(rc),
             rc == CURLE_COULDNT_RESOLVE_HOST ? " (no network?)" : "");
}

static int set_options(CURL *c, transfer *t, const char *url, char *errbuf) {
  CURLcode rc = curl_easy_setopt(c, CURLOPT_URL, url);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  /* a stalled transfer (under 1 KB/s for a minute) is cut and retried */
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_USERAGENT, "dlgn");
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_NOPROGRESS, t->progress ? 0L : 1L);
  if (rc != CURLE_OK)
    return dlgn_fail("%s: libcurl refused an option: %s", url, curl_easy_strerror(rc));
  return 0;
}

/* Size of the .part left so far (0 when there is none). */
static int part_size(const char *part, uint64_t *size) {
  struct stat st;
  *size = 0;
  if (stat(part, &st) == 0) {
    *size = (uint64_t)st.st_size;
    return 0;
  }
  return errno == ENOENT ? 0 : dlgn_fail("cannot look at %s: %s", part, strerror(errno));
}

/* The written bytes reach the disk before the next attempt counts them. */
static int close_part(transfer *t) {
  if (!t->f) return 0;
  bool ok = fflush(t->f) == 0 && fsync(fileno(t->f)) == 0;
  int err = errno;
  ok &= fclose(t->f) == 0;
  t->f = NULL;
  return ok ? 0 : dlgn_fail("cannot write %s: %s", t->part, strerror(err ? err : errno));
}

/* Transfers into part until it is whole (by HTTP's account), retrying
 * transient failures with a Range request from where the file ends. */
static int fetch(CURL *c, char *errbuf, const char *url, const char *part, const char *hint,
                 const dlgn_download_options *o, dlgn_download_result *r) {
  transfer t = {.curl = c, .part = part, .progress = o->progress};
  DLGN_TRY(set_options(c, &t, url, errbuf));
  for (int attempt = 0;; attempt++) {
    uint64_t have;
    DLGN_TRY(part_size(part, &have));
    if (attempt == 0) r->resumed_from = have;
    if (o->log && have > 0)
      fprintf(o->log, "resuming %s at byte %" PRIu64 " with a Range request\n", part, have);
    else if (o->log)
      fprintf(o->log, "fetching %s into %s\n", url, part);
    if (o->log) fflush(o->log);
    char range[32];
    snprintf(range, sizeof range, "%" PRIu64 "-", have);
    CURLcode rc = curl_easy_setopt(c, CURLOPT_RANGE, have > 0 ? range : NULL);
    if (rc != CURLE_OK)
      return dlgn_fail("%s: libcurl refused a range: %s", url, curl_easy_strerror(rc));
    t.have = have;
    t.got = 0;
    t.range_start = -1;
    t.why[0] = errbuf[0] = '\0';
    t.drawn = false;
    t.total = t.now = 0;
    t.start = dlgn_now();
    t.last_draw = 0;
    rc = curl_easy_perform(c);
    if (t.drawn) {
      draw_bar(&t);
      fputc('\n', stderr);
    }
    r->attempts++;
    DLGN_TRY(close_part(&t));
    long code = 0;
    CURLcode info = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (info != CURLE_OK)
      return dlgn_fail("%s: no HTTP status from libcurl: %s", url, curl_easy_strerror(info));
    if (rc == CURLE_OK) {
      DLGN_TRY(part_size(part, &have));
      if (have == 0 && access(part, F_OK) != 0)
        return dlgn_fail("%s: the server sent an empty file; nothing written to %s; %s", url,
                         part, hint);
      return 0;
    }
    /* asked for the bytes past the end: the .part may be whole already (a
     * run stopped before its rename); the md5 decides */
    if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && have > 0) return 0;
    char what[700];
    describe(what, sizeof what, rc, code, &t, errbuf);
    uint64_t kept;
    DLGN_TRY(part_size(part, &kept));
    if (!is_transient(rc, code) || attempt >= o->retries) {
      char stays[4400] = "";
      if (kept > 0)
        snprintf(stays, sizeof stays,
                 "; the %" PRIu64 " bytes so far stay in %s, and running the command again "
                 "resumes them", kept, part);
      else snprintf(stays, sizeof stays, "; nothing written to %s", part);
      return dlgn_fail("download of %s failed%s: %s%s; %s", url,
                       attempt > 0 ? " after retries" : "", what, stays, hint);
    }
    unsigned wait = attempt < 5 ? 1u << attempt : MAX_WAIT_S;
    if (wait > MAX_WAIT_S) wait = MAX_WAIT_S;
    if (o->log)
      fprintf(o->log, "%s: %s; %" PRIu64 " bytes kept in %s, trying again in %u s "
              "(attempt %d of %d)\n", url, what, kept, part, wait, attempt + 2, o->retries + 1);
    sleep(wait);
  }
}

static int md5_file(const char *path, char hex[33]) {
  FILE *f = fopen(path, "rb");
  if (!f) return dlgn_fail("cannot open %s: %s", path, strerror(errno));
  enum { CHUNK = 1 << 20 };
  unsigned char *buf = dlgn_malloc(CHUNK, "reading a downloaded archive");
  if (!buf) {
    fclose(f);
    return -1;
  }
  MD5_CTX ctx;
  MD5Init(&ctx);
  size_t n;
  while ((n = fread(buf, 1, CHUNK, f)) > 0) MD5Update(&ctx, buf, n);
  bool failed = ferror(f) != 0;
  fclose(f);
  free(buf);
  if (failed) return dlgn_fail("cannot read %s", path);
  MD5End(&ctx, hex);
  return 0;
}

static bool is_md5(const char *s) {
  size_t n = 0;
  while (s[n] && strchr("0123456789abcdefABCDEF", s[n])) n++;
  return n == 32 && !s[n];
}

/* Fetch with a libcurl handle of its own, then verify and rename. */
static int download_into(const char *url, const char *md5, const char *part, const char *path,
                         const char *hint, const dlgn_download_options *o,
                         dlgn_download_result *r) {
  CURLcode g = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (g != CURLE_OK) return dlgn_fail("%s: cannot start libcurl: %s", url, curl_easy_strerror(g));
  CURL *c = curl_easy_init();
  char errbuf[CURL_ERROR_SIZE]; /* the handle may write it until its cleanup */
  int rc = c ? fetch(c, errbuf, url, part, hint, o, r)
             : dlgn_fail("%s: cannot start libcurl: no easy handle", url);
  if (c) curl_easy_cleanup(c);
  curl_global_cleanup();
  DLGN_TRY(rc);
  char got[33];
  DLGN_TRY(md5_file(part, got));
  if (strcasecmp(got, md5) != 0) {
    if (unlink(part) != 0)
      return dlgn_fail("%s: the downloaded file has md5 %s, not %s, and cannot be removed: %s: %s",
                       url, got, md5, part, strerror(errno));
    return dlgn_fail("%s: the downloaded file has md5 %s, not the expected %s; removed %s, "
                     "nothing kept; %s", url, got, md5, part, hint);
  }
  if (rename(part, path) != 0)
    return dlgn_fail("cannot rename %s to %s: %s", part, path, strerror(errno));
  return 0;
}

int dlgn_data_download(dlgn_cifar_kind kind, const dlgn_download_options *o,
                       dlgn_download_result *r) {
  memset(r, 0, sizeof *r);
  const dlgn_cifar_archive *a = dlgn_cifar_official_archive(kind);
  const char *dir = o->dir && *o->dir ? o->dir : DLGN_DATASETS_DIR;
  const char *url = o->url && *o->url ? o->url : a->url;
  const char *md5 = o->md5 && *o->md5 ? o->md5 : a->md5;
  if (!is_md5(md5)) return dlgn_fail("md5 '%s': expected 32 hexadecimal digits", md5);
  if (o->retries < 0) return dlgn_fail("retries: %d is negative", o->retries);
  char part[4200], hint[9000];
  if ((size_t)snprintf(r->path, sizeof r->path, "%s/%s", dir, a->file) >= sizeof r->path ||
      (size_t)snprintf(part, sizeof part, "%s.part", r->path) >= sizeof part)
    return dlgn_fail("%s: folder name too long", dir);
  bool looked_in = strcmp(dir, DLGN_DATASETS_DIR) == 0;
  snprintf(hint, sizeof hint, "to install it by hand, fetch %s (md5 %s) and put it at %s%s%s", url,
           md5, r->path, looked_in ? ", where dlgn looks for it" : ", then give --data ",
           looked_in ? "" : r->path);

  struct stat st;
  if (stat(r->path, &st) == 0) {
    char got[33];
    DLGN_TRY(md5_file(r->path, got));
    if (strcasecmp(got, md5) != 0)
      return dlgn_fail("%s is already there but its md5 is %s, not the expected %s (another, "
                       "repackaged or damaged file; dlgn data inspect %s checks its members): "
                       "move it away and run again", r->path, got, md5, r->path);
    r->already = true;
    r->bytes = (uint64_t)st.st_size;
    return 0;
  }
  if (errno != ENOENT) return dlgn_fail("cannot look at %s: %s", r->path, strerror(errno));
  bool had_dir = stat(dir, &st) == 0;
  DLGN_TRY(dlgn_mkdir_p(dir));
  if (download_into(url, md5, part, r->path, hint, o, r) != 0) {
    if (!had_dir) rmdir(dir); /* only when empty: a failure leaves no trace */
    return -1;
  }
  if (stat(r->path, &st) != 0) return dlgn_fail("cannot look at %s: %s", r->path, strerror(errno));
  r->bytes = (uint64_t)st.st_size;
  return 0;
}
