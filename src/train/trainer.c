/* The training loop. Per step everything is enqueued on the device (input
 * normalisation, forward, loss, backward, optimizer) with no host round trip;
 * the host reads the loss ring and counters about twice a second for the
 * progress display and the divergence check, and once per epoch for the
 * checkpoint. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "dlgn/train.h"
#include "dlgn/util.h"
#include "nn/model_internal.h"
#include "progress.h"
#include "run_files.h"
#include "stream.h"

typedef struct {
  dlgn_train_config cfg;
  dlgn_dataset ds;
  bool have_ds;
  dlgn_device *dev;
  dlgn_model *m;
  cl_mem opt, counters, ring;
  size_t ntrain, nopt;
  float mean[3], std[3];
  train_stream st;
  dlgn_batcher *batcher;
  size_t steps_per_epoch;
  int *ring_n; /* images of each step of the epoch */
  float *ring_host;
  float *host_params, *host_state, *host_opt;
  train_progress progress;
  long step; /* optimizer steps done */
  int epoch; /* epochs done */
  dlgn_epoch_metrics best;
} train_run;

static int load_data(train_run *r, dlgn_train_summary *sum) {
  char used[sizeof r->cfg.data];
  DLGN_TRY(dlgn_train_load_dataset(&r->cfg, NULL, &r->ds, &sum->synthetic, used));
  snprintf(r->cfg.data, sizeof r->cfg.data, "%s", used);
  r->have_ds = true;
  /* the same text however the path was given (a resumed run gets it absolute) */
  snprintf(sum->data_source, sizeof sum->data_source, "%s", sum->synthetic ? r->ds.source : used);
  r->cfg.model.num_classes = r->ds.num_classes;
  return 0;
}

/* fixed-learnt: the gates of a trained model, frozen. A dnn's own ReLU
 * network becomes the feature network of a dgn. */
static int prepare_fixed_learnt(train_run *r, dlgn_checkpoint *src) {
  dlgn_train_config *c = &r->cfg;
  if (!c->gates_from[0])
    return dlgn_fail("--mode fixed-learnt needs --gates-from CHECKPOINT (a trained model whose "
                     "gates to freeze)");
  DLGN_TRY(dlgn_checkpoint_read(c->gates_from, src));
  const dlgn_model_config *s = &src->config.model;
  dlgn_model_class cls = dlgn_model_class_on_gates_of(s->cls);
  if (c->run.class_given && c->model.cls != cls)
    return dlgn_fail("--gates-from %s holds a %s, whose gates make a %s, not a %s", c->gates_from,
                     dlgn_class_name(s->cls), dlgn_class_name(cls), dlgn_class_name(c->model.cls));
  if (s->arch != c->model.arch || s->depth != c->model.depth || s->width != c->model.width ||
      s->batchnorm != c->model.batchnorm || s->num_classes != c->model.num_classes)
    return dlgn_fail("--gates-from %s is a %s depth %d width %d%s model with %d classes; this run "
                     "is %s depth %d width %d%s with %d classes",
                     c->gates_from, dlgn_arch_name(s->arch), s->depth, s->width,
                     s->batchnorm ? " batchnorm" : "", s->num_classes,
                     dlgn_arch_name(c->model.arch), c->model.depth, c->model.width,
                     c->model.batchnorm ? " batchnorm" : "", c->model.num_classes);
  c->model.cls = cls;
  c->model.beta = s->beta;
  c->normalize = src->config.normalize;
  memcpy(r->mean, src->mean, sizeof r->mean);
  memcpy(r->std, src->std, sizeof r->std);
  return 0;
}

/* Copy the feature network (parameters and batch-norm state) of src. */
static int load_feature_network(train_run *r, const dlgn_checkpoint *src) {
  dlgn_model srcm;
  memset(&srcm, 0, sizeof srcm);
  DLGN_TRY(nn_model_layout(&srcm, &src->config.model));
  if (srcm.nparams != src->nparams || srcm.nstate != src->nstate)
    return dlgn_fail("--gates-from %s: its sizes do not match its configuration", r->cfg.gates_from);
  const nn_net *f = &r->m->feat;
  if (srcm.feat.end != f->end)
    return dlgn_fail("--gates-from %s: feature network shapes differ", r->cfg.gates_from);
  size_t state_end = 0;
  for (int l = 0; l < f->nlayers; l++)
    if (f->layers[l].gamma_off) state_end = f->layers[l].var_off + (size_t)f->layers[l].out_c;
  DLGN_TRY(ocl_buffer_write(r->dev, r->m->params, 0, f->end * sizeof(float), src->params,
                            "frozen feature network"));
  if (state_end)
    DLGN_TRY(ocl_buffer_write(r->dev, r->m->state, 0, state_end * sizeof(float), src->state,
                              "frozen feature batch-norm state"));
  return 0;
}

static int setup(train_run *r, bool resume, dlgn_checkpoint *resume_ck, dlgn_train_summary *sum) {
  dlgn_train_config *c = &r->cfg;
  dlgn_checkpoint src = {0};
  int rc = -1;
  if (c->epochs < 1 || c->batch < 1)
    return dlgn_fail("--epochs and --batch must be >= 1 (got %d, %d)", c->epochs, c->batch);
  if (!(c->lr > 0)) return dlgn_fail("--lr must be > 0");
  if (dlgn_train_config_check(c) != 0) return dlgn_fail_context("%s", c->run.run_dir);
  DLGN_TRY(load_data(r, sum));
  for (int i = 0; i < 3; i++) r->mean[i] = 0.0f, r->std[i] = 1.0f;
  if (c->normalize == DLGN_NORM_STANDARD) dlgn_split_channel_stats(&r->ds.train, r->mean, r->std);
  if (resume) {
    memcpy(r->mean, resume_ck->mean, sizeof r->mean);
    memcpy(r->std, resume_ck->std, sizeof r->std);
  } else if (c->model.mode == DLGN_FIXED_LEARNT) {
    if (prepare_fixed_learnt(r, &src) != 0) goto done;
  }
  if (dlgn_model_config_check(&c->model) != 0) goto done;
  if (dlgn_device_open(&r->dev, c->run.device[0] ? c->run.device : NULL, 0) != 0) goto done;
  snprintf(sum->device, sizeof sum->device, "%s", r->dev->info.name);
  if (dlgn_model_create(&r->m, r->dev, &c->model, c->batch, c->seed) != 0) goto done;
  dlgn_model *m = r->m;
  r->ntrain = m->train_end - m->train_begin;
  r->nopt = c->optimizer == DLGN_ADAM ? 2 * r->ntrain : r->ntrain;
  if (ocl_buffer_create(r->dev, r->nopt * sizeof(float), "optimizer state", &r->opt) != 0 ||
      fill_forward(r->dev, (nn_buf){r->opt, 0}, r->nopt, 0.0f) != 0)
    goto done;
  if (!resume && c->model.mode == DLGN_FIXED_LEARNT && load_feature_network(r, &src) != 0) goto done;
  if (resume) {
    if (resume_ck->nparams != m->nparams || resume_ck->nstate != m->nstate ||
        resume_ck->nopt != r->nopt) {
      dlgn_fail("checkpoint in %s does not match its configuration (%zu/%zu/%zu values, model "
                "needs %zu/%zu/%zu)",
                c->run.run_dir, resume_ck->nparams, resume_ck->nstate, resume_ck->nopt, m->nparams,
                m->nstate, r->nopt);
      goto done;
    }
    if (ocl_buffer_write(r->dev, m->params, 0, m->nparams * sizeof(float), resume_ck->params,
                         "parameters") != 0 ||
        (m->nstate && ocl_buffer_write(r->dev, m->state, 0, m->nstate * sizeof(float),
                                       resume_ck->state, "state") != 0) ||
        ocl_buffer_write(r->dev, r->opt, 0, r->nopt * sizeof(float), resume_ck->opt,
                         "optimizer state") != 0)
      goto done;
    r->epoch = resume_ck->epoch;
    r->step = resume_ck->step;
    r->best = resume_ck->best;
  }
  dlgn_batcher_options bo = {.batch = c->batch, .shuffle = true, .augment = c->augment,
                             .drop_last = false, .seed = c->seed, .limit = c->train_limit};
  if (dlgn_batcher_create(&r->batcher, &r->ds.train, &bo) != 0) goto done;
  r->steps_per_epoch = dlgn_batcher_batches_per_epoch(r->batcher);
  if (r->steps_per_epoch == 0) {
    dlgn_fail("the training set is empty");
    goto done;
  }
  if (train_stream_create(&r->st, r->dev, c->batch) != 0 ||
      ocl_buffer_create(r->dev, 4 * sizeof(cl_int), "accuracy counters", &r->counters) != 0 ||
      ocl_buffer_create(r->dev, r->steps_per_epoch * sizeof(float), "loss ring", &r->ring) != 0)
    goto done;
  r->ring_n = dlgn_calloc(r->steps_per_epoch, sizeof(int), "loss ring sizes");
  r->ring_host = dlgn_calloc(r->steps_per_epoch, sizeof(float), "loss ring");
  r->host_params = dlgn_malloc(m->nparams * sizeof(float), "checkpoint parameters");
  r->host_state = dlgn_malloc((m->nstate ? m->nstate : 1) * sizeof(float), "checkpoint state");
  r->host_opt = dlgn_malloc(r->nopt * sizeof(float), "checkpoint optimizer state");
  if (!r->ring_n || !r->ring_host || !r->host_params || !r->host_state || !r->host_opt) goto done;
  rc = 0;
done:
  dlgn_checkpoint_free(&src);
  return rc;
}

static int optimizer_step(train_run *r, float lr) {
  dlgn_model *m = r->m;
  const dlgn_train_config *c = &r->cfg;
  nn_buf p = {m->params, m->train_begin}, g = {m->grads, m->train_begin};
  if (c->decoupled_weight_decay > 0) /* AdamW: decay the weights apart from the gradient */
    DLGN_TRY(axpy(r->dev, p, p, r->ntrain, -lr * c->decoupled_weight_decay));
  if (c->optimizer == DLGN_ADAM)
    return adam_update(r->dev, p, g, (nn_buf){r->opt, 0}, (nn_buf){r->opt, r->ntrain},
                       r->ntrain, lr, c->adam_beta1, c->adam_beta2, c->adam_eps, c->weight_decay,
                       (int)(r->step + 1));
  return sgd_update(r->dev, p, g, (nn_buf){r->opt, 0}, r->ntrain, lr, c->momentum,
                    c->weight_decay, c->nesterov, r->step == 0);
}

/* Read the losses of steps [from, to) of this epoch and the running correct
 * count; stop on a non-finite loss. */
static int sync_losses(train_run *r, size_t from, size_t to, double *loss_sum, size_t *seen,
                       int *correct) {
  if (to > from)
    DLGN_TRY(ocl_buffer_read(r->dev, r->ring, from * sizeof(float), (to - from) * sizeof(float),
                             r->ring_host + from, "loss ring"));
  DLGN_TRY(ocl_buffer_read(r->dev, r->counters, 0, sizeof(cl_int), correct, "accuracy counter"));
  for (size_t i = from; i < to; i++) {
    float l = r->ring_host[i];
    if (!isfinite(l)) {
      /* Say what is on disk: a checkpoint is written after each epoch, so
       * none exists when the first epoch of a run diverges. */
      char kept[1300];
      if (r->epoch > 0)
        snprintf(kept, sizeof kept, "The last good checkpoint (epoch %d) is kept in %s.",
                 r->epoch, r->cfg.run.run_dir);
      else
        snprintf(kept, sizeof kept, "No checkpoint was written (none is before the first epoch "
                 "ends); %s holds only the configuration.", r->cfg.run.run_dir);
      return dlgn_fail("training diverged: the loss is %s at epoch %d, step %zu of %zu (global "
                       "step %ld); stopped. %s Try a lower --lr.",
                       isnan(l) ? "NaN" : "infinite", r->epoch + 1, i + 1, r->steps_per_epoch,
                       r->step - (long)(to - i) + 1, kept);
    }
    *loss_sum += (double)l * r->ring_n[i];
    *seen += (size_t)r->ring_n[i];
  }
  return 0;
}

static int train_epoch(train_run *r, dlgn_epoch_metrics *e) {
  dlgn_model *m = r->m;
  const dlgn_train_config *c = &r->cfg;
  dlgn_device *dev = r->dev;
  dlgn_gate_kind gates = dlgn_model_train_gates(m);
  long total_steps = (long)r->steps_per_epoch * c->epochs;
  DLGN_TRY(dlgn_batcher_start_epoch(r->batcher, r->epoch));
  cl_int zero = 0;
  DLGN_TRY(ocl_buffer_write(dev, r->counters, 0, sizeof zero, &zero, "accuracy counter"));
  double t0 = dlgn_now(), last_sync = t0;
  double loss_sum = 0;
  size_t seen = 0, synced = 0, images = 0, k = 0;
  int correct = 0;
  float lr = 0;
  dlgn_batch b;
  int got;
  while ((got = dlgn_batcher_next(r->batcher, &b)) == 1) {
    int slot;
    size_t bs = (size_t)c->batch;
    DLGN_TRY(train_stream_push(&r->st, &b, &slot));
    DLGN_TRY(nn_model_load_images(m, r->st.x8, (size_t)slot * bs * DLGN_IMAGE_BYTES, r->st.aug,
                                  (size_t)slot * bs, b.n, r->mean, r->std));
    DLGN_TRY(nn_model_forward(m, b.n, gates, true));
    DLGN_TRY(xent_forward(dev, (nn_buf){r->ring, k}, r->counters, 0, (nn_buf){m->logits, 0},
                          r->st.labels, (size_t)slot * bs, b.n, c->model.num_classes));
    DLGN_TRY(xent_backward(dev, (nn_buf){m->dlogits, 0}, (nn_buf){m->logits, 0}, r->st.labels,
                           (size_t)slot * bs, b.n, c->model.num_classes));
    DLGN_TRY(train_stream_release(&r->st, slot));
    DLGN_TRY(nn_model_backward(m, b.n, gates));
    lr = dlgn_lr_at(c, r->step, (long)r->steps_per_epoch, total_steps);
    DLGN_TRY(optimizer_step(r, lr));
    r->ring_n[k] = b.n;
    r->step++;
    k++;
    images += (size_t)b.n;
    double now = dlgn_now();
    if (now - last_sync > 0.5 || k == r->steps_per_epoch) {
      DLGN_TRY(sync_losses(r, synced, k, &loss_sum, &seen, &correct));
      synced = k;
      now = dlgn_now();
      last_sync = now;
      double ips = (double)images / (now - t0);
      double eta = (double)(r->steps_per_epoch - k) * (now - t0) / (double)k;
      train_progress_step(&r->progress, r->epoch + 1, c->epochs, k, r->steps_per_epoch,
                          seen ? loss_sum / (double)seen : 0, seen ? (double)correct / (double)seen : 0,
                          ips, eta);
    }
  }
  if (got < 0) return -1;
  DLGN_TRY(sync_losses(r, synced, k, &loss_sum, &seen, &correct));
  DLGN_TRY(dlgn_finish(dev));
  double t1 = dlgn_now();
  memset(e, 0, sizeof *e);
  e->epoch = r->epoch + 1;
  e->train_loss = seen ? loss_sum / (double)seen : 0;
  e->train_acc = seen ? (double)correct / (double)seen : 0;
  e->seconds = t1 - t0;
  e->images_per_s = (double)images / (t1 - t0);
  e->lr = lr;
  e->train_soft = e->train_hard = -1;
  return dlgn_evaluate(m, &r->ds.test, c->test_limit, r->mean, r->std, &e->test_soft,
                       &e->test_hard);
}

static int save_checkpoint(train_run *r) {
  dlgn_model *m = r->m;
  DLGN_TRY(ocl_buffer_read(r->dev, m->params, 0, m->nparams * sizeof(float), r->host_params,
                           "parameters"));
  if (m->nstate)
    DLGN_TRY(ocl_buffer_read(r->dev, m->state, 0, m->nstate * sizeof(float), r->host_state,
                             "batch-norm state"));
  DLGN_TRY(ocl_buffer_read(r->dev, r->opt, 0, r->nopt * sizeof(float), r->host_opt,
                           "optimizer state"));
  dlgn_checkpoint ck = {.config = r->cfg, .epoch = r->epoch, .step = r->step,
                        .nparams = m->nparams, .nstate = m->nstate, .nopt = r->nopt,
                        .params = r->host_params, .state = r->host_state, .opt = r->host_opt,
                        .best = r->best};
  memcpy(ck.mean, r->mean, sizeof ck.mean);
  memcpy(ck.std, r->std, sizeof ck.std);
  char path[1100];
  snprintf(path, sizeof path, "%s/checkpoint.bin", r->cfg.run.run_dir);
  return dlgn_checkpoint_write(path, &ck);
}

static void run_free(train_run *r) {
  train_stream_destroy(&r->st);
  dlgn_batcher_destroy(r->batcher);
  ocl_buffer_release(&r->opt);
  ocl_buffer_release(&r->counters);
  ocl_buffer_release(&r->ring);
  dlgn_model_destroy(r->m);
  dlgn_device_close(r->dev);
  if (r->have_ds) dlgn_dataset_free(&r->ds);
  free(r->ring_n);
  free(r->ring_host);
  free(r->host_params);
  free(r->host_state);
  free(r->host_opt);
}

int dlgn_train_run(const dlgn_train_config *c, bool resume, dlgn_train_summary *sum) {
  train_run *r = dlgn_calloc(1, sizeof *r, "training run");
  if (!r) return -1;
  memset(sum, 0, sizeof *sum);
  r->cfg = *c;
  int rc = -1;
  dlgn_checkpoint ck = {0};
  train_progress_init(&r->progress, c->run.progress, c->run.quiet);
  if (dlgn_mkdir_p(c->run.run_dir) != 0) goto done;
  int stale;
  if (dlgn_run_remove_temporaries(c->run.run_dir, &stale) != 0) goto done;
  if (stale)
    train_progress_note(&r->progress,
                        "removed %d temporary file%s that a killed write left in %s\n",
                        stale, stale == 1 ? "" : "s", c->run.run_dir);
  char path[1100];
  snprintf(path, sizeof path, "%s/checkpoint.bin", c->run.run_dir);
  if (resume && access(path, F_OK) != 0 && errno == ENOENT) {
    /* Killed before its first epoch ended: nothing to continue, but its
     * config.json (already in c) says what to train. */
    train_progress_note(&r->progress,
                        "%s has no checkpoint yet (the run stopped in its first epoch); starting "
                        "it from its config.json\n",
                        c->run.run_dir);
    resume = false;
  }
  if (resume) {
    if (dlgn_checkpoint_read(path, &ck) != 0) goto done;
    /* the experiment of the checkpoint, the run options of this call */
    r->cfg = ck.config;
    r->cfg.epochs = c->epochs; /* the one setting a resume may change: train longer */
    r->cfg.run = c->run;
  }
  if (setup(r, resume, &ck, sum) != 0) goto done;
  if (train_run_write_config(&r->cfg) != 0) goto done;
  if (train_run_truncate_metrics(r->cfg.run.run_dir, r->epoch) != 0) goto done;
  if (resume)
    train_progress_note(&r->progress, "resuming %s after epoch %d of %d\n", r->cfg.run.run_dir, r->epoch,
                        r->cfg.epochs);
  bool gated = r->cfg.model.cls != DLGN_DNN;
  dlgn_epoch_metrics e = {0};
  while (r->epoch < r->cfg.epochs) {
    if (train_epoch(r, &e) != 0) goto done;
    r->epoch++;
    if (r->best.epoch == 0 || e.test_hard > r->best.test_hard) r->best = e;
    train_progress_epoch(&r->progress, r->cfg.epochs, &e, gated);
    if (train_run_append_metrics(r->cfg.run.run_dir, &e) != 0 || save_checkpoint(r) != 0) goto done;
  }
  if (e.epoch == 0) { /* resumed a finished run: its last epoch, as recorded */
    if (train_run_read_metrics(r->cfg.run.run_dir, r->epoch, &e) != 0) goto done;
    e.train_soft = e.train_hard = -1;
  }
  if (r->cfg.eval_train &&
      dlgn_evaluate(r->m, &r->ds.train, r->cfg.train_limit, r->mean, r->std, &e.train_soft,
                    &e.train_hard) != 0)
    goto done;
  sum->config = r->cfg;
  sum->final = e;
  sum->best = r->best;
  sum->epochs_run = r->epoch;
  if (train_run_write_summary(&r->cfg, sum) != 0) goto done;
  rc = 0;
done:
  dlgn_checkpoint_free(&ck);
  run_free(r);
  free(r);
  return rc;
}
