#ifndef LSTMFORMAT_CHDF5_SHIM_H
#define LSTMFORMAT_CHDF5_SHIM_H
// HDF5's constants are macros over global ids (H5T_NATIVE_FLOAT expands to
// (H5OPEN H5T_NATIVE_FLOAT_g)); Swift cannot import them, so each one used by
// LSTMFormat is exposed as a static inline function here.
#include <hdf5/serial/hdf5.h>  /* Debian's path (libhdf5-dev); see module.modulemap */
#include <stdlib.h>
#include <string.h>

static inline hid_t shim_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t shim_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t shim_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t shim_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t shim_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t shim_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t shim_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t shim_H5E_DEFAULT(void) { return H5E_DEFAULT; }

static inline unsigned shim_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned shim_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned shim_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }

static inline hid_t shim_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t shim_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t shim_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t shim_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t shim_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t shim_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t shim_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t shim_H5T_IEEE_F16LE_create(void) {
    // IEEE 754 binary16, little-endian: HDF5 1.10 has no predefined half type.
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}
static inline hid_t shim_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t shim_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t shim_H5T_STD_U16LE(void) { return H5T_STD_U16LE; }
static inline hid_t shim_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t shim_H5T_STD_I8LE(void) { return H5T_STD_I8LE; }
static inline hid_t shim_H5T_C_S1(void) { return H5T_C_S1; }
static inline size_t shim_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hsize_t shim_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline haddr_t shim_HADDR_UNDEF(void) { return HADDR_UNDEF; }

// File images used in place (Spec/hdf5-layout.md, H14): callbacks that hand libhdf5's core driver the caller's
// buffer instead of copies, as H5LTopen_file_image does with H5LT_FILE_IMAGE_DONT_COPY | DONT_RELEASE. Only
// for read-only opens: the driver never reallocates or writes the image then. The caller keeps the buffer
// alive until the file is closed.
typedef struct { void *image; size_t size; } shim_image_udata;

static inline void *shim_image_malloc(size_t size, H5FD_file_image_op_t op, void *udata) {
    shim_image_udata *u = (shim_image_udata *)udata;
    (void)op;
    return size == u->size ? u->image : NULL;
}
static inline void *shim_image_memcpy(void *dest, const void *src, size_t size, H5FD_file_image_op_t op, void *udata) {
    (void)op; (void)udata;
    if (dest != src) memcpy(dest, src, size);  // never taken: every copy is the same buffer
    return dest;
}
static inline void *shim_image_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata) {
    (void)ptr; (void)size; (void)op; (void)udata;
    return NULL;  // read-only: refuse
}
static inline herr_t shim_image_free(void *ptr, H5FD_file_image_op_t op, void *udata) {
    (void)ptr; (void)op; (void)udata;
    return 0;  // the caller owns the buffer
}
static inline void *shim_image_udata_copy(void *udata) { return udata; }
static inline herr_t shim_image_udata_free(void *udata) { (void)udata; return 0; }

/// Sets `image` (of `size` bytes) as the file image of `fapl` without copying it. `udata` must outlive the
/// property list and every file opened with it.
static inline herr_t shim_set_file_image_in_place(hid_t fapl, shim_image_udata *udata) {
    H5FD_file_image_callbacks_t callbacks = {
        shim_image_malloc, shim_image_memcpy, shim_image_realloc, shim_image_free,
        shim_image_udata_copy, shim_image_udata_free, udata
    };
    if (H5Pset_file_image_callbacks(fapl, &callbacks) < 0) return -1;
    return H5Pset_file_image(fapl, udata->image, udata->size);
}

// Files built in memory (Spec/keras-mapping.md, K-W9): libhdf5's core driver without a backing store grows its
// image through these callbacks (glibc's realloc moves large blocks with mremap, not a copy). Once `taken` is
// set, closing the file leaves the image to the caller, who frees it with free(3): no H5Fget_file_image copy.
typedef struct { void *image; size_t size; int taken; } shim_owned_image;

static inline void *shim_owned_malloc(size_t size, H5FD_file_image_op_t op, void *udata) {
    shim_owned_image *u = (shim_owned_image *)udata;
    (void)op;
    void *p = malloc(size > 0 ? size : 1);
    if (p) { u->image = p; u->size = size; }
    return p;
}
static inline void *shim_owned_memcpy(void *dest, const void *src, size_t size, H5FD_file_image_op_t op, void *udata) {
    (void)op; (void)udata;
    return memcpy(dest, src, size);
}
static inline void *shim_owned_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata) {
    shim_owned_image *u = (shim_owned_image *)udata;
    (void)op;
    void *p = realloc(ptr, size > 0 ? size : 1);
    if (p) { u->image = p; u->size = size; }
    return p;
}
static inline herr_t shim_owned_free(void *ptr, H5FD_file_image_op_t op, void *udata) {
    shim_owned_image *u = (shim_owned_image *)udata;
    (void)op;
    if (ptr == u->image && u->taken) return 0;  // the caller took it
    free(ptr);
    if (ptr == u->image) { u->image = NULL; u->size = 0; }
    return 0;
}

/// Makes `fapl` build files in memory through the callbacks above; `udata` must outlive the property list and
/// every file created with it.
static inline herr_t shim_set_owned_image(hid_t fapl, size_t increment, shim_owned_image *udata) {
    if (H5Pset_fapl_core(fapl, increment, 0) < 0) return -1;
    H5FD_file_image_callbacks_t callbacks = {
        shim_owned_malloc, shim_owned_memcpy, shim_owned_realloc, shim_owned_free,
        shim_image_udata_copy, shim_image_udata_free, udata
    };
    return H5Pset_file_image_callbacks(fapl, &callbacks);
}

#endif
