/* Prepended to every program. Kernels guard their own bounds because the host
 * rounds global sizes up to the work-group size. */
#define GID0 ((int)get_global_id(0))
#define GID1 ((int)get_global_id(1))
#define GID2 ((int)get_global_id(2))
