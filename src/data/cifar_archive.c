/* Reading a CIFAR archive with libarchive: members stream block by block
 * from the decompressor into the loader; nothing is written to disk. Member
 * paths and types are checked first, so a hostile archive is refused before
 * any of its data is used. */
#include <archive.h>
#include <archive_entry.h>
#include <string.h>
#include <sys/stat.h>

#include "data/cifar_internal.h"
#include "dlgn/status.h"

/* Large reads keep the number of read(2) calls and filter passes low. */
#define ARCHIVE_READ_BLOCK (1 << 20)

static int path_is_safe(const char *p) {
  if (p[0] == '/' || p[0] == '\\') return 0;
  if (((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) && p[1] == ':') return 0;
  const char *s = p;
  while (*s) {
    size_t n = strcspn(s, "/\\");
    if (n == 2 && s[0] == '.' && s[1] == '.') return 0;
    s += n;
    if (*s) s++;
  }
  return 1;
}

static const char *refused_type(struct archive_entry *e) {
  if (archive_entry_hardlink(e)) return "a hard link";
  if (archive_entry_symlink(e)) return "a symbolic link";
  switch (archive_entry_filetype(e)) {
  case 0:
  case AE_IFREG:
  case AE_IFDIR: return NULL;
  case AE_IFLNK: return "a symbolic link";
  case AE_IFCHR: return "a character device";
  case AE_IFBLK: return "a block device";
  case AE_IFIFO: return "a FIFO";
  case AE_IFSOCK: return "a socket";
  default: return "not a regular file";
  }
}

/* libarchive leaves the string NULL for some failures, e.g. a gzip trailer
 * cut short. */
static const char *archive_reason(struct archive *a) {
  const char *s = archive_error_string(a);
  return s ? s : "truncated or corrupt compressed data";
}

static int open_reader(struct archive **out, const char *path) {
  struct archive *a = archive_read_new();
  if (!a) return dlgn_fail("%s: libarchive could not allocate a reader", path);
  /* Every format that carries its own data; not mtree (it names files on
   * this disk) nor raw (any file would pass as one member). */
  int (*const formats[])(struct archive *) = {
      archive_read_support_format_tar,  archive_read_support_format_zip,
      archive_read_support_format_7zip, archive_read_support_format_cpio,
      archive_read_support_format_ar,   archive_read_support_format_iso9660,
      archive_read_support_format_rar,  archive_read_support_format_rar5,
      archive_read_support_format_xar,  archive_read_support_format_cab,
      archive_read_support_format_lha,  archive_read_support_format_warc,
  };
  int r = archive_read_support_filter_all(a);
  for (size_t i = 0; (r == ARCHIVE_OK || r == ARCHIVE_WARN) && i < sizeof formats / sizeof *formats;
       i++)
    r = formats[i](a);
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
    dlgn_fail("%s: libarchive setup failed: %s", path, archive_reason(a));
    archive_read_free(a);
    return -1;
  }
  if (archive_read_open_filename(a, path, ARCHIVE_READ_BLOCK) != ARCHIVE_OK) {
    dlgn_fail("%s: member (none yet), byte 0: cannot open or recognise the archive: %s", path,
              archive_reason(a));
    archive_read_free(a);
    return -1;
  }
  *out = a;
  return 0;
}

static int read_member_data(cifar_loader *L, struct archive *a, const char *name) {
  const void *buf;
  size_t size;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
    if (off < 0 || (uint64_t)off != L->current_offset)
      return dlgn_fail("%s: member %s, byte %llu: sparse member (data resumes at byte %lld); "
                       "CIFAR members are plain files",
                       L->source, name, (unsigned long long)L->current_offset, (long long)off);
    DLGN_TRY(cifar_loader_member_data(L, buf, size));
  }
  if (r != ARCHIVE_EOF)
    return dlgn_fail("%s: member %s, byte %llu: reading failed (compressed byte %lld): %s",
                     L->source, name, (unsigned long long)L->current_offset,
                     (long long)archive_filter_bytes(a, -1), archive_reason(a));
  return 0;
}

static int read_members(cifar_loader *L, struct archive *a) {
  struct archive_entry *e;
  char previous[256] = "(none, at the start)";
  int r;
  while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
    /* A warning (e.g. a name not convertible to this locale) loses no data;
     * the name still passes the checks below. */
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return dlgn_fail("%s: member after %s, byte 0 (decompressed archive byte %lld, compressed "
                       "byte %lld): %s",
                       L->source, previous, (long long)archive_filter_bytes(a, 0),
                       (long long)archive_filter_bytes(a, -1), archive_reason(a));
    const char *name = archive_entry_pathname(e);
    if (!name || !*name)
      return dlgn_fail("%s: member after %s, byte 0: member without a readable path", L->source,
                       previous);
    if (!path_is_safe(name))
      return dlgn_fail("%s: member %s, byte 0: refused: absolute path or '..' component", L->source,
                       name);
    const char *bad_type = refused_type(e);
    if (bad_type)
      return dlgn_fail("%s: member %s, byte 0: refused: %s (only regular files and folders)",
                       L->source, name, bad_type);
    snprintf(previous, sizeof previous, "%s", name);
    if (archive_entry_filetype(e) == AE_IFDIR) continue;
    int64_t declared = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    DLGN_TRY(cifar_loader_member_begin(L, name, declared));
    DLGN_TRY(read_member_data(L, a, name));
    DLGN_TRY(cifar_loader_member_end(L));
  }
  return 0;
}

int cifar_archive_read(cifar_loader *L, const char *path) {
  struct archive *a = NULL;
  DLGN_TRY(open_reader(&a, path));
  int rc = read_members(L, a);
  if (archive_read_free(a) != ARCHIVE_OK && rc == 0)
    rc = dlgn_fail("%s: member (end), byte %llu: closing the archive failed", path,
                   (unsigned long long)L->total);
  return rc;
}
