/* The sweep-file parser on arbitrary text. Invariants: a plan holds 1 to
 * 20000 runs, each with a terminated, unique name, a configuration the model
 * accepts, and a gate source that is an earlier-wave run or none; a failure
 * leaves an empty plan and one line of error. */
#include <stdlib.h>
#include <string.h>

#include "dlgn/model.h"
#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/train.h"
#include "fuzz_util.h"

static void check_plan(const dlgn_sweep_plan *p) {
  FUZZ_CHECK(p->nruns >= 1 && p->nruns <= 20000, "%d runs", p->nruns);
  FUZZ_CHECK(p->runs != NULL, "no run array");
  FUZZ_TERMINATED(p->name);
  for (int i = 0; i < p->nnotes; i++) FUZZ_CHECK(p->notes[i] != NULL, "note %d", i);
  for (int i = 0; i < p->nruns; i++) {
    const dlgn_sweep_run *r = &p->runs[i];
    FUZZ_TERMINATED(r->name);
    FUZZ_CHECK(r->name[0] != '\0', "run %d has no name", i);
    FUZZ_TERMINATED(r->cfg.run.run_dir);
    FUZZ_CHECK(dlgn_model_config_check(&r->cfg.model) == 0, "run %s: %s", r->name, dlgn_error());
    FUZZ_CHECK(r->source >= -1 && r->source < p->nruns && r->source != i, "run %s source %d",
               r->name, r->source);
    if (r->source >= 0)
      FUZZ_CHECK(dlgn_sweep_run_wave(&p->runs[r->source]) == 1, "source of %s is not wave 1",
                 r->name);
  }
  /* names are unique: each is a run folder */
  if (p->nruns <= 2000)
    for (int i = 0; i < p->nruns; i++)
      for (int j = i + 1; j < p->nruns; j++)
        FUZZ_CHECK(strcmp(p->runs[i].name, p->runs[j].name) != 0, "two runs named %s",
                   p->runs[i].name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  dlgn_sweep_plan p;
  memset(&p, 0xab, sizeof p);
  dlgn_error_clear();
  if (dlgn_sweep_plan_parse(&p, text, "fuzz.json", "out") == 0) {
    check_plan(&p);
    dlgn_sweep_plan_free(&p);
  } else {
    FUZZ_CHECK(p.runs == NULL && p.notes == NULL && p.nruns == 0, "a failed parse left a plan");
    fuzz_check_error("dlgn_sweep_plan_parse");
  }
  free(text);
  return 0;
}
