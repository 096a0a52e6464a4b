/* The tuning file reader on hostile text (no device needed): bounded size,
 * no silently split long lines, no NUL bytes, the required lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "cl/tune.h"
#include "dlgn/util.h"
#include "testutil.h"

static const char good[] =
    "# dlgn GEMM tuning\n"
    "device Some CPU\n"
    "driver 6.0\n"
    "own-default tm=4 tn=64 vw=4 kc=256\n"
    "own-shape ta=0 tb=1 M=40 N=72 K=96 tm=4 tn=32 vw=4 kc=128 gflops=12.5\n"
    "clblast Xgemm MWG=64 NWG=64\n";

static int parse(const char *text, size_t len, ocl_tuning *t) {
  dlgn_error_clear();
  return ocl_tuning_parse(t, text, len, "tune.txt");
}

START_TEST(valid_text) {
  ocl_tuning t;
  ck_assert_ok(parse(good, strlen(good), &t));
  ck_assert_str_eq(t.device, "Some CPU");
  ck_assert_str_eq(t.driver, "6.0");
  ck_assert(t.has_own_default);
  ck_assert_int_eq(t.own_default.tn, 64);
  ck_assert_int_eq(t.nshapes, 1);
  ck_assert_uint_eq(t.shapes[0].K, 96);
  ck_assert_int_eq(t.nclblast, 1);
  /* No final newline is fine too. */
  ck_assert_ok(parse(good, strlen(good) - 1, &t));
  ck_assert_int_eq(t.nclblast, 1);
}
END_TEST

/* A line longer than the reader's buffer was cut in two, and its second half
 * parsed as a line of its own. */
START_TEST(long_line) {
  size_t n = strlen(good);
  char *text = malloc(n + 5000);
  ck_assert_ptr_nonnull(text);
  memcpy(text, good, n);
  memcpy(text + n, "# ", 2);
  memset(text + n + 2, 'a', 3000);
  memcpy(text + n + 3002, "\n", 2);
  ocl_tuning t;
  ck_assert_int_eq(parse(text, strlen(text), &t), -1);
  ck_assert_msg(strstr(dlgn_error(), "tune.txt line 7: longer than"), "%s", dlgn_error());
  free(text);
}
END_TEST

START_TEST(nul_byte) {
  char text[sizeof good];
  memcpy(text, good, sizeof good);
  text[30] = '\0'; /* inside "device Some CPU" */
  ocl_tuning t;
  ck_assert_int_eq(parse(text, sizeof good - 1, &t), -1);
  ck_assert_msg(strstr(dlgn_error(), "line 2: holds a NUL byte"), "%s", dlgn_error());
}
END_TEST

START_TEST(required_lines) {
  ocl_tuning t;
  ck_assert_int_eq(parse("", 0, &t), -1);
  ck_assert_msg(strstr(dlgn_error(), "lacks its 'device' or 'driver' line"), "%s", dlgn_error());
  ck_assert_int_eq(parse("device x\n", 9, &t), -1);
  ck_assert_msg(strstr(dlgn_error(), "lacks"), "%s", dlgn_error());
}
END_TEST

/* A name longer than its field was cut, and the cut name (maybe ending in a
 * space) then never matched the device, nor read back the same. */
START_TEST(long_names) {
  char text[1200];
  char name[300];
  memset(name, 'n', 299);
  name[299] = '\0';
  snprintf(text, sizeof text, "device %s\ndriver 1\n", name);
  ocl_tuning t;
  ck_assert_int_eq(parse(text, strlen(text), &t), -1);
  ck_assert_msg(strstr(dlgn_error(), "line 1: device name longer than 255"), "%s", dlgn_error());
  name[200] = '\0';
  snprintf(text, sizeof text, "device x\ndriver %s\n", name);
  ck_assert_int_eq(parse(text, strlen(text), &t), -1);
  ck_assert_msg(strstr(dlgn_error(), "line 2: driver name longer than 127"), "%s", dlgn_error());
  name[127] = '\0';
  snprintf(text, sizeof text, "device x\ndriver %s\n", name);
  ck_assert_ok(parse(text, strlen(text), &t));
}
END_TEST

/* Convolution entries: every key read, a strategy nobody knows refused with
 * the names, a second entry for one shape refused, and the writer's text
 * read back the same. */
START_TEST(conv_entries) {
  char text[1024];
  snprintf(text, sizeof text, "%sconv N=64 C=256 H=8 W=8 OC=512 k=3 stride=1 pad=1 fwd=batch "
           "dx=rows dw=gemm fwd_ms=8.8\n", good);
  ocl_tuning t;
  ck_assert_ok(parse(text, strlen(text), &t));
  ck_assert_int_eq(t.nconvs, 1);
  ocl_conv_shape s = {64, 256, 8, 8, 512, 3, 1, 1};
  const ocl_tuned_conv *e = ocl_tuning_find_conv(&t, &s);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->fwd, OCL_CONV_BATCH);
  ck_assert_int_eq(e->dx, OCL_CONV_ROWS);
  ck_assert_int_eq(e->dw, OCL_CONV_GEMM);
  ck_assert_double_eq_tol(e->ms[0], 8.8, 1e-9);
  s.N = 32;
  ck_assert_ptr_null(ocl_tuning_find_conv(&t, &s));
  /* written and read back */
  char path[] = "/tmp/dlgn-tune-conv-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(path));
  char file[64];
  snprintf(file, sizeof file, "%s/t.txt", path);
  ck_assert_ok(ocl_tuning_write(file, &t));
  ocl_tuning back;
  ck_assert_ok(ocl_tuning_read(file, &back));
  ck_assert_int_eq(back.nconvs, 1);
  ck_assert_mem_eq(&back.convs[0].shape, &t.convs[0].shape, sizeof s);
  ck_assert_int_eq(back.convs[0].dx, OCL_CONV_ROWS);
  remove(file);
  rmdir(path);
  /* a put replaces the entry of its shape, else adds one */
  ocl_tuned_conv n = t.convs[0];
  n.fwd = OCL_CONV_WINO;
  ck_assert_ok(ocl_tuning_put_conv(&t, &n));
  ck_assert_int_eq(t.nconvs, 1);
  ck_assert_int_eq(t.convs[0].fwd, OCL_CONV_WINO);
  n.shape.N = 128;
  ck_assert_ok(ocl_tuning_put_conv(&t, &n));
  ck_assert_int_eq(t.nconvs, 2);
  /* what is refused */
  const char *bad[][2] = {
      {"conv N=1 C=1 H=8 W=8 OC=1 k=3 stride=1 pad=1 fwd=fast dx=rows dw=gemm",
       "unknown convolution strategy 'fast'"},
      {"conv N=1 C=1 H=8 W=8 OC=1 k=3 stride=1 fwd=rows dx=rows dw=gemm", "missing keys"},
      {"conv N=0 C=1 H=8 W=8 OC=1 k=3 stride=1 pad=1 fwd=rows dx=rows dw=gemm", ">= 1"},
      {"conv N=1 N=2 C=1 H=8 W=8 OC=1 k=3 stride=1 pad=1 fwd=rows dx=rows dw=gemm", "twice"},
      {"conv N=1 C=1 H=8 W=8 OC=1 k=3 stride=1 pad=1 fwd=rows dx=rows dw=gemm dw_ms=-1",
       "bad time"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(text, sizeof text, "%s%s\n", good, bad[i][0]);
    ck_assert_int_eq(parse(text, strlen(text), &t), -1);
    ck_assert_msg(strstr(dlgn_error(), bad[i][1]) && strstr(dlgn_error(), "line 7"), "%s: %s",
                  bad[i][0], dlgn_error());
  }
  snprintf(text, sizeof text,
           "%sconv N=1 C=1 H=8 W=8 OC=1 k=3 stride=1 pad=1 fwd=rows dx=rows dw=gemm\n"
           "conv N=1 C=1 H=8 W=8 OC=1 k=3 stride=1 pad=1 fwd=gemm dx=rows dw=gemm\n",
           good);
  ck_assert_int_eq(parse(text, strlen(text), &t), -1);
  ck_assert_msg(strstr(dlgn_error(), "line 8: a second entry"), "%s", dlgn_error());
}
END_TEST

/* An endless file (fgets on /dev/zero read forever: every line was empty). */
START_TEST(endless_file) {
  ocl_tuning t;
  dlgn_error_clear();
  ck_assert_int_eq(ocl_tuning_read("/dev/zero", &t), -1);
  ck_assert_msg(strstr(dlgn_error(), "tuning file /dev/zero is larger than"), "%s", dlgn_error());
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("cl_tune_file");
  TCase *tc = tcase_create("tune_file");
  tcase_add_test(tc, valid_text);
  tcase_add_test(tc, long_line);
  tcase_add_test(tc, nul_byte);
  tcase_add_test(tc, required_lines);
  tcase_add_test(tc, long_names);
  tcase_add_test(tc, endless_file);
  tcase_add_test(tc, conv_entries);
  suite_add_tcase(s, tc);
  return s;
}
