/* What the official CIFAR binary archives hold: member names, official md5s,
 * record sizes and class names; and where the archives themselves are
 * published, with the md5 of each whole file. */
#include <stdio.h>
#include <string.h>

#include "data/cifar_internal.h"
#include "dlgn/status.h"

static const cifar_member_spec cifar10_records[] = {
    {"data_batch_1.bin", DLGN_CIFAR10, MEMBER_RECORDS, 0, 0, "5dd7e06a14cb22eb9f671a540d1b7c25"},
    {"data_batch_2.bin", DLGN_CIFAR10, MEMBER_RECORDS, 0, 1, "5ea93a67294ea407fff1d09f752e9692"},
    {"data_batch_3.bin", DLGN_CIFAR10, MEMBER_RECORDS, 0, 2, "942cd6a4bcdd0dd3c604fbe906cb4421"},
    {"data_batch_4.bin", DLGN_CIFAR10, MEMBER_RECORDS, 0, 3, "ae636b3ba5c66a11e91e8cb52e771fcb"},
    {"data_batch_5.bin", DLGN_CIFAR10, MEMBER_RECORDS, 0, 4, "53f37980c15c3d472c316c40844f3f0d"},
    {"test_batch.bin", DLGN_CIFAR10, MEMBER_RECORDS, 1, 5, "803d5f7f4d78ea53de84dbe85f74fb6d"},
};

static const cifar_member_spec cifar100_records[] = {
    {"train.bin", DLGN_CIFAR100, MEMBER_RECORDS, 0, 0, "6172c7755cfe09b2fe270c85cebc1b15"},
    {"test.bin", DLGN_CIFAR100, MEMBER_RECORDS, 1, 1, "4499cfba6c016c1be1438163640a0898"},
};

static const cifar_member_spec meta_members[] = {
    {"batches.meta.txt", DLGN_CIFAR10, MEMBER_NAMES, 0, 0, NULL},
    {"fine_label_names.txt", DLGN_CIFAR100, MEMBER_FINE_NAMES, 0, 0, NULL},
    {"coarse_label_names.txt", DLGN_CIFAR100, MEMBER_COARSE_NAMES, 0, 0, NULL},
};

static const char *const cifar10_names[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};

static const char *const cifar100_fine_names[100] = {
    "apple",        "aquarium_fish", "baby",        "bear",       "beaver",       "bed",
    "bee",          "beetle",        "bicycle",     "bottle",     "bowl",         "boy",
    "bridge",       "bus",           "butterfly",   "camel",      "can",          "castle",
    "caterpillar",  "cattle",        "chair",       "chimpanzee", "clock",        "cloud",
    "cockroach",    "couch",         "crab",        "crocodile",  "cup",          "dinosaur",
    "dolphin",      "elephant",      "flatfish",    "forest",     "fox",          "girl",
    "hamster",      "house",         "kangaroo",    "keyboard",   "lamp",         "lawn_mower",
    "leopard",      "lion",          "lizard",      "lobster",    "man",          "maple_tree",
    "motorcycle",   "mountain",      "mouse",       "mushroom",   "oak_tree",     "orange",
    "orchid",       "otter",         "palm_tree",   "pear",       "pickup_truck", "pine_tree",
    "plain",        "plate",         "poppy",       "porcupine",  "possum",       "rabbit",
    "raccoon",      "ray",           "road",        "rocket",     "rose",         "sea",
    "seal",         "shark",         "shrew",       "skunk",      "skyscraper",   "snail",
    "snake",        "spider",        "squirrel",    "streetcar",  "sunflower",    "sweet_pepper",
    "table",        "tank",          "telephone",   "television", "tiger",        "tractor",
    "train",        "trout",         "tulip",       "turtle",     "wardrobe",     "whale",
    "willow_tree",  "wolf",          "woman",       "worm"};

static const char *const cifar100_coarse_names[20] = {
    "aquatic_mammals",
    "fish",
    "flowers",
    "food_containers",
    "fruit_and_vegetables",
    "household_electrical_devices",
    "household_furniture",
    "insects",
    "large_carnivores",
    "large_man-made_outdoor_things",
    "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores",
    "medium_mammals",
    "non-insect_invertebrates",
    "people",
    "reptiles",
    "small_mammals",
    "trees",
    "vehicles_1",
    "vehicles_2"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *dlgn_cifar_kind_name(dlgn_cifar_kind kind) {
  return kind == DLGN_CIFAR100 ? "CIFAR-100" : "CIFAR-10";
}

const cifar_member_spec *cifar_member_lookup(const char *name) {
  const char *slash = strrchr(name, '/');
  const char *base = slash ? slash + 1 : name;
  for (int i = 0; i < COUNT(cifar10_records); i++)
    if (strcmp(base, cifar10_records[i].base) == 0) return &cifar10_records[i];
  for (int i = 0; i < COUNT(cifar100_records); i++)
    if (strcmp(base, cifar100_records[i].base) == 0) return &cifar100_records[i];
  for (int i = 0; i < COUNT(meta_members); i++)
    if (strcmp(base, meta_members[i].base) == 0) return &meta_members[i];
  return NULL;
}

int cifar_record_members(dlgn_cifar_kind kind, const cifar_member_spec **specs) {
  if (kind == DLGN_CIFAR100) {
    *specs = cifar100_records;
    return COUNT(cifar100_records);
  }
  *specs = cifar10_records;
  return COUNT(cifar10_records);
}

/* As listed on the dataset's home page (https://www.cs.toronto.edu/~kriz/cifar.html). */
static const dlgn_cifar_archive official_archives[] = {
    {"cifar-10-binary.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
     "c32a1d4ab5d03f1284b67883e8d87530"},
    {"cifar-100-binary.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
     "03b5dce01913d631647c71ecec9e9cb8"},
};

const dlgn_cifar_archive *dlgn_cifar_official_archive(dlgn_cifar_kind kind) {
  return &official_archives[kind == DLGN_CIFAR100 ? 1 : 0];
}

const char *cifar_folder_name(dlgn_cifar_kind kind) {
  return kind == DLGN_CIFAR100 ? "cifar-100-binary" : "cifar-10-batches-bin";
}

size_t cifar_record_bytes(dlgn_cifar_kind kind) {
  return (kind == DLGN_CIFAR100 ? 2 : 1) + (size_t)DLGN_IMAGE_BYTES;
}

void cifar_default_names(dlgn_dataset *ds) {
  memset(ds->class_names, 0, sizeof ds->class_names);
  memset(ds->coarse_names, 0, sizeof ds->coarse_names);
  if (ds->kind == DLGN_CIFAR100) {
    for (int i = 0; i < 100; i++)
      snprintf(ds->class_names[i], sizeof ds->class_names[i], "%s", cifar100_fine_names[i]);
    for (int i = 0; i < 20; i++)
      snprintf(ds->coarse_names[i], sizeof ds->coarse_names[i], "%s", cifar100_coarse_names[i]);
  } else {
    for (int i = 0; i < 10; i++)
      snprintf(ds->class_names[i], sizeof ds->class_names[i], "%s", cifar10_names[i]);
  }
}

int cifar_parse_names(char (*names)[32], int expected, const char *text, size_t len,
                      const char *archive, const char *member) {
  int count = 0;
  size_t i = 0;
  while (i < len) {
    size_t start = i;
    while (i < len && text[i] != '\n') i++;
    size_t end = i;
    i++; /* past '\n' */
    while (end > start && (text[end - 1] == '\r' || text[end - 1] == ' ' || text[end - 1] == '\t'))
      end--;
    if (end == start) continue;
    if (count == expected)
      return dlgn_fail("%s: member %s, byte %zu: more than %d class names", archive, member, start,
                       expected);
    if (end - start >= sizeof names[0])
      return dlgn_fail("%s: member %s, byte %zu: class name longer than %zu bytes", archive, member,
                       start, sizeof names[0] - 1);
    for (size_t k = start; k < end; k++)
      if ((unsigned char)text[k] < 0x20)
        return dlgn_fail("%s: member %s, byte %zu: control character in a class name", archive,
                         member, k);
    memcpy(names[count], text + start, end - start);
    names[count][end - start] = '\0';
    count++;
  }
  if (count != expected)
    return dlgn_fail("%s: member %s, byte %zu: %d class names, expected %d", archive, member, len,
                     count, expected);
  return 0;
}

size_t cifar_format_names(char *out, size_t size, const char (*names)[32], int count) {
  size_t n = 0;
  for (int i = 0; i < count && n < size; i++)
    n += (size_t)snprintf(out + n, size - n, "%s\n", names[i]);
  if (n < size) n += (size_t)snprintf(out + n, size - n, "\n");
  return n < size ? n : size - 1;
}
