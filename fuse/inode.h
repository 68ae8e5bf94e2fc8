/* inode: the mounted image's inode table — one node per path, counted by
 * the kernel's lookups and released on forget, with each directory's child
 * list remembered after its first full listing. Free of FUSE headers: a
 * FUSE inode number is a struct inode pointer (the root is looked up with
 * inode_root). Private to fuse/. */
#ifndef STRATA_FUSE_INODE_H
#define STRATA_FUSE_INODE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "src/base/error.h"
#include "src/view/imageview.h"

struct inode {
	/* Immutable once the node is in the table: read without the lock. */
	char *path;                 /* "" for the root, "usr/bin" below it */
	const char *name;           /* the last component, inside path */
	uint64_t st_ino;            /* 1 for the root, ino_seed + 1 otherwise */
	uint64_t parent_st_ino;     /* for ".." in listings */
	struct iv_node iv;

	/* table->lock */
	uint64_t nlookup;           /* the kernel's references */
	unsigned opens;             /* open file and directory handles */
	int cached;                 /* in its parent's child list */
	struct inode **children;    /* set once by the first full listing, then immutable */
	size_t nchildren;
	struct inode *hnext;        /* path hash chain */
	uint64_t hash;

	atomic_int eio_logged;      /* a failed read of this file was logged */
	/* Where each chunk of a many-chunk file starts (nchunks + 1 offsets,
	 * the last the size): made by its first read, freed with the node. */
	_Atomic(uint64_t *) chunk_offs;
};

struct inode_table;

/* v is borrowed and must outlive the table. Free with inode_table_free. */
int inode_table_new(struct imageview *v, struct inode_table **out, struct strata_error *err);
void inode_table_free(struct inode_table *t);

struct inode *inode_root(struct inode_table *t);
/* Nodes in the table now (for tests and metrics). */
size_t inode_table_size(struct inode_table *t);

/* Resolves name in dir and adds one lookup to the node: 0 with *out,
 * -ENOENT, or -EIO/-ENOMEM with err set. Served from dir's child list once
 * dir has been listed, from the path table when the name was seen before. */
int inode_lookup(struct inode_table *t, struct inode *dir, const char *name, struct inode **out,
		 struct strata_error *err);
/* Drops n lookups (the kernel's forget); the node goes at zero unless it is
 * open or held by its parent's child list. */
void inode_forget(struct inode_table *t, struct inode *n, uint64_t nlookup);

/* Makes sure dir->children is filled (one merged listing over the layers,
 * done once). Afterwards dir->children and the children stay valid while dir
 * is open. */
int inode_list(struct inode_table *t, struct inode *dir, struct strata_error *err);
/* Adds one lookup to each of n nodes (entries returned by readdirplus). */
void inode_add_lookups(struct inode_table *t, struct inode *const *nodes, size_t n);

/* Open handles keep a node (and a directory's child list) alive. */
void inode_open(struct inode_table *t, struct inode *n);
void inode_close(struct inode_table *t, struct inode *n);

/* The node's attributes: see inode.c for the choices (nlink of directories,
 * st_blocks). */
void inode_stat(const struct inode *n, struct stat *st);

/* The value of user.strata.digests of a regular file's node,
 * "sha256 sha1 md5 layer" (layer: the diff_id of the layer it comes from),
 * into out; returns its length (0 when len is too small). */
#define INODE_DIGESTS_TEXT_MAX 256
size_t inode_digests_text(const struct inode *n, const char *layer, char *out, size_t len);

#endif
