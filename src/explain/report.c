/* DIR/report.md for people and DIR/explain.json for programs, from the same
 * numbers. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/util.h"
#include "explain_internal.h"

static double frac(size_t a, size_t b) { return b ? (double)a / (double)b : NAN; }

static void model_section(FILE *f, const explain_result *r) {
  const dlgn_model_config *c = &r->m->cfg;
  fprintf(f, "# dlgn explain: `%s`\n\n", r->ckpt_path);
  fprintf(f, "| | |\n|---|---|\n");
  fprintf(f, "| model | %s, %s, depth %d, width %d%s, beta %g |\n", dlgn_class_name(c->cls),
          dlgn_arch_name(c->arch), c->depth, c->width, c->batchnorm ? ", batch norm" : "", c->beta);
  fprintf(f, "| value input | %s |\n",
          c->cls == DLGN_DNN ? "image (a dnn)" : dlgn_value_input_name(c->value_input));
  fprintf(f, "| training | mode %s, gates %s, %d epochs |\n", dlgn_mode_name(c->mode),
          dlgn_model_gate_source(c), r->ck.epoch);
  fprintf(f, "| linear gating | %s (gating depth %d) |\n",
          dlgn_model_linear_gating(c) ? "yes" : "no", dlgn_model_gating_depth(c));
  fprintf(f, "| data | %s, test split, first %zu images |\n", r->data_source, r->pass_n);
  fprintf(f, "| device | %s |\n\n", r->device);
}

static void filter_section(FILE *f, const explain_result *r) {
  fprintf(f, "## Effective filters\n\n");
  if (!r->linear) {
    fprintf(f,
            "Not applicable: the gates of a %s come from a ReLU feature network, so a gate is "
            "a bent surface in input space, not a hyperplane. There is no template to export, "
            "and none is (`applicable: false`).\n\n",
            dlgn_class_name(r->m->cfg.cls));
    return;
  }
  const dlgn_model_config *c = &r->m->cfg;
  fprintf(f,
          "Every gate of a %s is a hyperplane in the normalised image x: "
          "q = T . x + bias, with x zero-padded outside the image. ",
          dlgn_class_name(c->cls));
  if (c->arch == DLGN_FC)
    fprintf(f,
            "For fc layers T is the product of the weight matrices (3072 = 3x32x32, shown as "
            "one RGB image per unit).\n\n");
  else
    fprintf(f,
            "Conv layers compose into one larger conv (average pooling as a 2x2 stride-2 "
            "conv, eval-mode batch norm folded). Near the border the zero padding of the "
            "intermediate maps drops paths, so positions in the border band of a layer have "
            "their own templates and biases; all are exported in `templates.bin` and used "
            "by the check below. The pictures show the template of the central position "
            "(the interior one where the layer has one), each filter scaled to its own range, "
            "channels as RGB.\n\n");
  if (r->m->cfg.arch == DLGN_RESNET)
    fprintf(f,
            "Composition: %.2f s on the host (double precision), a layer at a time, each "
            "layer checked against the network (a pass over the check images per layer) "
            "and written out before the next two are composed.\n\n",
            r->t_compose);
  else
    fprintf(f, "Composition: %.2f s on the host (double precision).\n\n", r->t_compose);
  fprintf(f,
          "| layer | map | gates per position | shown template | border classes per axis | picture "
          "|\n");
  fprintf(f, "|---|---|---|---|---|---|\n");
  for (int l = 0; l < r->t.nlayers; l++) {
    const dlgn_layer_templates *L = &r->t.layers[l];
    int a, b;
    dlgn_templates_display_class(&r->t, l, &a, &b);
    int border = 0;
    for (int k = 0; k < L->ncls; k++) border += !L->c[k].interior;
    fprintf(f, "| %d | %dx%d | %d | 3x%dx%d | %d | [filters_layer%d.png](filters_layer%d.png) |\n",
            l + 1, L->n, L->n, L->channels, L->c[a].hi - L->c[a].lo + 1,
            L->c[b].hi - L->c[b].lo + 1, L->dense ? 0 : border, l + 1, l + 1);
  }
  fprintf(f, "\n");
  for (int l = 0; l < r->t.nlayers; l++)
    fprintf(f, "Layer %d:\n\n![filters of layer %d](filters_layer%d.png)\n\n", l + 1, l + 1, l + 1);
  fprintf(f,
          "`templates.bin` (float32, little-endian): `DLGNTPL1`, int32 nlayers; per layer "
          "int32 dense, channels, n (positions per axis), stride (pixels per step), ncls; "
          "per class int32 lo, hi (window in pixels, inclusive, may reach the padding at -1 "
          "and 32), rep (representative position), interior; int32 class of each of the n "
          "positions (rows and columns alike); then per class pair (row class major) the "
          "templates (channels, 3, hy, hx) and biases (channels). An interior class's window "
          "moves by stride pixels per position away from rep; a border class is one position.\n\n");
}

static void check_section(FILE *f, const explain_result *r) {
  const dlgn_filter_check *k = &r->check;
  fprintf(f, "## Filter-export check\n\n");
  if (!k->applicable) {
    fprintf(f, "Not applicable (no effective filters).\n\n");
    return;
  }
  if (!k->images) {
    fprintf(f, "Not run (--check-images 0).\n\n");
    return;
  }
  fprintf(f,
          "The gates of the first %zu test images recomputed from the templates alone "
          "(host, on the zero-padded normalised image) against the network's own hard gates "
          "(device forward). A disagreement is allowed only where the network's |q| <= eps = "
          "%g x the layer's RMS |q| over these images (both sides sum the same terms in "
          "different orders in float32).\n\n",
          k->images, k->eps);
  if (k->passed)
    fprintf(f, "**PASSED: every gate agrees or is within eps of zero**\n\n");
  else
    fprintf(f, "**FAILED: gates disagree beyond eps, first at layer %d**\n\n", k->failed_layer);
  fprintf(f,
          "| layer | gates compared | agreement | differ near zero | differ beyond eps | max "
          "abs(q_T - q)/RMS | RMS abs(q) |\n|---|---|---|---|---|---|---|\n");
  for (int l = 0; l < k->nlayers; l++)
    fprintf(f, "| %d | %zu | %.6f%% | %zu | %zu | %.2e | %.4g |\n", l + 1, k->compared[l],
            100 * k->agreement[l], k->near_zero[l], k->mismatched[l], k->max_err[l], k->q_scale[l]);
  fprintf(f, "\n");
}

static void gate_section(FILE *f, const explain_result *r) {
  fprintf(f, "## Gate statistics\n\n");
  fprintf(f,
          "Over the first %zu test images. Hard gate: q > 0; soft gate: sigmoid(beta q) with "
          "beta = %g. For the same q the two agree by definition (sigmoid(beta q) > 0.5 exactly "
          "when q > 0, and the feature network does not depend on the value network), so the "
          "soft/hard flips below (sigmoid evaluated on the host in float32) can only come from "
          "rounding where abs(beta q) is below float precision. The informative "
          "figure is the fraction of ambiguous soft gates, sigmoid(beta q) in [0.1, 0.9], "
          "i.e. abs(beta q) <= ln 9.%s\n\n",
          r->pass_n, r->m->cfg.beta,
          r->compared ? " Agreement: the fraction of hard gates equal in the compared model." : "");
  fprintf(f, "| layer | gates per image | on | ambiguous soft | soft/hard flips |%s\n",
          r->compared ? " agreement |" : "");
  fprintf(f, "|---|---|---|---|---|%s\n", r->compared ? "---|" : "");
  for (int l = 0; l < r->m->feat.nlayers; l++) {
    size_t tot = r->units[l] * r->pass_n;
    fprintf(f, "| %d | %zu | %.2f%% | %.2f%% | %zu |", l + 1, r->units[l],
            100 * frac(r->on[l], tot), 100 * frac(r->ambiguous[l], tot), r->flips[l]);
    if (r->compared) fprintf(f, " %.2f%% |", 100 * frac(r->agree[l], tot));
    fprintf(f, "\n");
  }
  if (r->compared) fprintf(f, "\nCompared with `%s`.\n", r->ckpt2_path);
  fprintf(f, "\n");
}

static void npk_row(FILE *f, const char *name, const dlgn_kernel_summary *s) {
  fprintf(f, "| %s | %.4f | %.4f | %.4f | %.4f |\n", name, s->within, s->across,
          s->within / s->across, s->alignment);
}

static void npk_section(FILE *f, const explain_result *r) {
  fprintf(f, "## Neural path kernel\n\n");
  if (r->npk_n < 2) {
    fprintf(f, "Not computed (fewer than 2 images).\n\n");
    return;
  }
  fprintf(f,
          "Over the first %zu test images. Lambda_l = G_l G_l^T / (gates in layer l), G_l the "
          "n x gates hard-gate matrix (conv layers: gates = channels x positions); "
          "K = %sLambda_1 * ... * Lambda_L elementwise%s.%s Within/across: mean of the "
          "cosine-normalised kernel K(i,j)/sqrt(K(i,i)K(j,j)) over pairs i != j of the same / of "
          "different classes. Alignment: the kernel-target alignment "
          "<K, YY^T>_F / (||K||_F ||YY^T||_F) with Y the centred one-hot label matrix (n x "
          "classes), the multi-class form of y^T K y.\n\n",
          r->npk_n, r->npk_xx ? "(X X^T / 3072) * " : "",
          r->nblocks ? " for a network without shortcuts (residual blocks: below)" : "",
          r->m->cfg.arch == DLGN_FC ? ""
                                    : " For conv nets this is the layer-wise overlap product of "
                                      "the paper's neural path kernel, not the exact "
                                      "convolutional kernel (which pairs positions along each "
                                      "path).");
  fprintf(
      f, "| kernel | within class | across classes | ratio | alignment |\n|---|---|---|---|---|\n");
  char name[32];
  for (int l = 0; l < r->m->feat.nlayers; l++) {
    snprintf(name, sizeof name, "Lambda_%d", l + 1);
    npk_row(f, name, &r->lam_sum[l]);
  }
  if (r->npk_xx) npk_row(f, "X X^T / 3072", &r->xx_sum);
  if (r->nblocks) {
    npk_row(f, "K of the sub-network taking every block (product)", &r->k_all_sum);
    npk_row(f, "**K (sum over the sub-networks)**", &r->k_sum);
  } else {
    npk_row(f, "**K (product)**", &r->k_sum);
  }
  if (r->nblocks) {
    fprintf(f,
            "\nResidual blocks: a path takes a block (through its first layer) or skips it "
            "(along the shortcut); either way it meets the gates of the block's output, where "
            "the shortcut joins. K is the sum over the 2^%d sub-networks, each the product of "
            "its own layers' Lambda, which factorises as the product over blocks of "
            "(1 + Lambda_first) * Lambda_out (times the stem's Lambda and the image factor). "
            "Per block: the summaries of that factor, and the share of K carried by the "
            "sub-networks that take the block, Lambda_first / (1 + Lambda_first), averaged "
            "over the pairs.\n\n",
            r->nblocks);
    fprintf(f, "| block | gate layers (first, output) | share through the block | within | "
               "across | ratio | alignment |\n|---|---|---|---|---|---|---|\n");
    for (int b = 0; b < r->nblocks; b++) {
      const dlgn_kernel_summary *s = &r->block_sum[b];
      fprintf(f, "| %d | %d, %d | %.4f | %.4f | %.4f | %.4f | %.4f |\n", b + 1,
              r->block_first[b] + 1, r->block_out[b] + 1, r->block_share[b], s->within,
              s->across, s->within / s->across, s->alignment);
    }
  }
  fprintf(f, "\nImages per class:");
  for (int c = 0; c < r->nclasses; c++)
    if (r->class_count[c]) fprintf(f, " %s %zu;", r->class_names[c], r->class_count[c]);
  fprintf(f,
          "\n\nHeatmap of the cosine-normalised K, images sorted by class (classes in label "
          "order); colour from dark blue (%.4f) to yellow (%.4f), the off-diagonal range.\n\n"
          "![neural path kernel](npk_heatmap.png)\n\n",
          r->heat_range[0], r->heat_range[1]);
}

int explain_write_report(const explain_result *r) {
  char path[1200];
  snprintf(path, sizeof path, "%s/report.md", r->opt->out_dir);
  FILE *f = fopen(path, "w");
  if (!f) return dlgn_fail("cannot create %s", path);
  model_section(f, r);
  filter_section(f, r);
  check_section(f, r);
  gate_section(f, r);
  npk_section(f, r);
  fprintf(f,
          "## Timings\n\nDevice, model and data %.2f s; composition %.2f s (host); pass over the "
          "images %.2f s, of which "
          "%.2f s device forward%s and %.2f s template check and statistics (host); kernel "
          "%.2f s (host); total %.2f s.\n",
          r->t_setup, r->t_compose, r->t_pass, r->t_forward, r->m2 ? "s of both models" : "",
          r->t_pass - r->t_forward, r->t_npk, r->t_total);
  if (fclose(f) != 0) return dlgn_fail("writing %s failed (disk full?)", path);
  return 0;
}

/* ---- explain.json ---- */

static json_object *num(double v) {
  return isfinite(v) ? json_object_new_double(v) : json_object_new_null();
}

static json_object *summary_json(const dlgn_kernel_summary *s) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "within", num(s->within));
  json_object_object_add(o, "across", num(s->across));
  json_object_object_add(o, "alignment", num(s->alignment));
  return o;
}

static json_object *check_json(const dlgn_filter_check *k) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "applicable", json_object_new_boolean(k->applicable));
  json_object_object_add(o, "run", json_object_new_boolean(k->applicable && k->images));
  if (!k->applicable || !k->images) return o;
  json_object_object_add(o, "passed", json_object_new_boolean(k->passed));
  if (!k->passed) json_object_object_add(o, "failed_layer", json_object_new_int(k->failed_layer));
  json_object_object_add(o, "images", json_object_new_int64((int64_t)k->images));
  json_object_object_add(o, "eps_rel", num(k->eps));
  json_object *layers = json_object_new_array();
  for (int l = 0; l < k->nlayers; l++) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "compared", json_object_new_int64((int64_t)k->compared[l]));
    json_object_object_add(e, "agreement", num(k->agreement[l]));
    json_object_object_add(e, "near_zero", json_object_new_int64((int64_t)k->near_zero[l]));
    json_object_object_add(e, "mismatched", json_object_new_int64((int64_t)k->mismatched[l]));
    json_object_object_add(e, "max_err_rel", num(k->max_err[l]));
    json_object_object_add(e, "q_rms", num(k->q_scale[l]));
    json_object_array_add(layers, e);
  }
  json_object_object_add(o, "layers", layers);
  return o;
}

static json_object *gates_json(const explain_result *r) {
  json_object *a = json_object_new_array();
  for (int l = 0; l < r->m->feat.nlayers; l++) {
    size_t tot = r->units[l] * r->pass_n;
    json_object *e = json_object_new_object();
    json_object_object_add(e, "units", json_object_new_int64((int64_t)r->units[l]));
    json_object_object_add(e, "on", num(frac(r->on[l], tot)));
    json_object_object_add(e, "ambiguous_soft", num(frac(r->ambiguous[l], tot)));
    json_object_object_add(e, "soft_hard_flips", json_object_new_int64((int64_t)r->flips[l]));
    if (r->compared) json_object_object_add(e, "agreement", num(frac(r->agree[l], tot)));
    json_object_array_add(a, e);
  }
  return a;
}

static json_object *npk_json(const explain_result *r) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "images", json_object_new_int64((int64_t)r->npk_n));
  if (r->npk_n < 2) return o;
  json_object_object_add(o, "image_factor", json_object_new_boolean(r->npk_xx));
  json_object *layers = json_object_new_array();
  for (int l = 0; l < r->m->feat.nlayers; l++)
    json_object_array_add(layers, summary_json(&r->lam_sum[l]));
  json_object_object_add(o, "layers", layers);
  if (r->npk_xx) json_object_object_add(o, "image_gram", summary_json(&r->xx_sum));
  json_object_object_add(o, r->nblocks ? "sum_over_subnetworks" : "product",
                         summary_json(&r->k_sum));
  if (r->nblocks) {
    json_object_object_add(o, "all_blocks_product", summary_json(&r->k_all_sum));
    json_object *blocks = json_object_new_array();
    for (int b = 0; b < r->nblocks; b++) {
      json_object *e = summary_json(&r->block_sum[b]);
      json_object_object_add(e, "first_layer", json_object_new_int(r->block_first[b] + 1));
      json_object_object_add(e, "output_layer", json_object_new_int(r->block_out[b] + 1));
      json_object_object_add(e, "share_through_block", json_object_new_double(r->block_share[b]));
      json_object_array_add(blocks, e);
    }
    json_object_object_add(o, "blocks", blocks);
  }
  json_object_object_add(o, "alignment_definition",
                         json_object_new_string("<K,YY^T>_F/(|K|_F |YY^T|_F), Y centred one-hot"));
  json_object_object_add(o, "heatmap", json_object_new_string("npk_heatmap.png"));
  return o;
}

int explain_write_json(const explain_result *r) {
  const dlgn_model_config *c = &r->m->cfg;
  json_object *root = json_object_new_object();
  json_object_object_add(root, "checkpoint", json_object_new_string(r->ckpt_path));
  json_object_object_add(root, "class", json_object_new_string(dlgn_class_name(c->cls)));
  json_object_object_add(root, "arch", json_object_new_string(dlgn_arch_name(c->arch)));
  json_object_object_add(root, "depth", json_object_new_int(c->depth));
  json_object_object_add(root, "width", json_object_new_int(c->width));
  json_object_object_add(root, "linear_gating",
                         json_object_new_boolean(dlgn_model_linear_gating(c)));
  json_object_object_add(root, "gating_depth", json_object_new_int(dlgn_model_gating_depth(c)));
  json_object_object_add(root, "data", json_object_new_string(r->data_source));
  json_object_object_add(root, "device", json_object_new_string(r->device));
  json_object_object_add(root, "images", json_object_new_int64((int64_t)r->pass_n));
  if (r->linear) {
    json_object *pngs = json_object_new_array();
    char name[64];
    for (int l = 0; l < r->t.nlayers; l++) {
      snprintf(name, sizeof name, "filters_layer%d.png", l + 1);
      json_object_array_add(pngs, json_object_new_string(name));
    }
    json_object_object_add(root, "filter_pictures", pngs);
    json_object_object_add(root, "templates", json_object_new_string("templates.bin"));
  }
  json_object_object_add(root, "filter_check", check_json(&r->check));
  json_object_object_add(root, "gates", gates_json(r));
  if (r->compared) json_object_object_add(root, "compare", json_object_new_string(r->ckpt2_path));
  json_object_object_add(root, "npk", npk_json(r));
  json_object *t = json_object_new_object();
  json_object_object_add(t, "setup_s", num(r->t_setup));
  json_object_object_add(t, "compose_s", num(r->t_compose));
  json_object_object_add(t, "pass_s", num(r->t_pass));
  json_object_object_add(t, "forward_s", num(r->t_forward));
  json_object_object_add(t, "npk_s", num(r->t_npk));
  json_object_object_add(t, "total_s", num(r->t_total));
  json_object_object_add(root, "timings", t);
  const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
  char path[1200];
  snprintf(path, sizeof path, "%s/explain.json", r->opt->out_dir);
  int rc = dlgn_write_file_atomic(path, text, strlen(text));
  json_object_put(root);
  return rc;
}
