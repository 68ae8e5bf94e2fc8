/* ops: the FUSE low-level operations of a mount, and the mount's state
 * they share with mount.c, which sets it up (mount.h). Private to fuse/. */
#ifndef STRATA_FUSE_OPS_H
#define STRATA_FUSE_OPS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "src/store/chunkcache.h"
#include "src/view/imageview.h"
#include "inode.h"
#include "kmount.h"
#include "mountop.h"
#include "tree.h"

struct mount {
	/* Set up by mount_start before the session runs; immutable afterwards. */
	struct store *st;
	struct imageview *v;
	struct inode_table *itab;
	struct chunkcache *cache;
	struct refetcher *refetch;   /* brings evicted chunks back; NULL: none */
	struct fuse_session *se;
	struct kmount km;            /* the kernel side; km.path is the mount point */
	dev_t dev;                   /* of the mounted file system */
	uint64_t mnt_id;
	uint64_t image_bytes;        /* uncompressed layer bytes, for statfs */
	uint64_t image_entries;      /* tar entries of all layers, for statfs */
	unsigned threads;
	int no_opendir;              /* set by init: directories are listed in readdir */
	int no_open;                 /* set by init: files are read without OPEN/RELEASE */

	pthread_mutex_t init_lock;   /* protects init_done */
	pthread_cond_t init_cond;
	int init_done;               /* INIT arrived (set by ops.c's init) */

	pthread_t loop_thread;
	int loop_started;
	atomic_int loop_done;        /* the session loop returned */
	int loop_result;             /* written by the loop thread before loop_done */

	struct tree tree;            /* user.strata.tree pages; set up once itab is */

	atomic_uint_fast64_t bytes_read;
	atomic_uint_fast64_t ops[MOP_COUNT], op_errors[MOP_COUNT];
};

extern const struct fuse_lowlevel_ops ops_lowlevel;

#endif
