/* mountop: the kinds of FUSE request a mount counts — by ops.c as it
 * serves them, for the daemon's metrics through mount.h. */
#ifndef STRATA_FUSE_MOUNTOP_H
#define STRATA_FUSE_MOUNTOP_H

enum mount_op {
	MOP_LOOKUP, MOP_GETATTR, MOP_READLINK, MOP_OPEN, MOP_READ, MOP_OPENDIR, MOP_READDIR,
	MOP_STATFS, MOP_GETXATTR, MOP_LISTXATTR, MOP_COUNT
};

#endif
