/* tree: see tree.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/base/log.h"
#include "tree.h"

#define TREE_VALUE_MAX 60000

/* A directory being listed: its children from pos on are still to come;
 * its own path (with a trailing '/') is the first plen bytes of path. */
struct frame {
	struct inode *dir;
	size_t pos;
	size_t plen;
};

/* Where the last page ended. The root is held open, so that it and the
 * child lists below it (which hold the frames' directories) stay while the
 * cursor does. */
struct tree_cursor {
	struct inode *root;
	uint64_t next;       /* entries given so far */
	struct frame *f;
	size_t n, alloc;
	struct buf path;
};

static void cursor_free(struct tree *t, struct tree_cursor *c)
{
	if (!c)
		return;
	inode_close(t->itab, c->root);
	free(c->f);
	buf_release(&c->path);
	free(c);
}

static int push(struct tree *t, struct tree_cursor *c, struct inode *dir, size_t plen)
{
	struct strata_error err = STRATA_ERROR_INIT;
	if (inode_list(t->itab, dir, &err) < 0) {
		log_error("listing of '/%s': %s", dir->path, err.msg);
		return -EIO;
	}
	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 16;
		struct frame *nf = realloc(c->f, na * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		c->f = nf;
		c->alloc = na;
	}
	c->f[c->n++] = (struct frame){ dir, 0, plen };
	return 0;
}

static int cursor_new(struct tree *t, struct inode *root, struct tree_cursor **out)
{
	struct tree_cursor *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	inode_open(t->itab, root);
	c->root = root;
	/* A whole subtree is about to be listed: from memory, not the index. */
	imageview_load_lists(t->v);
	int r = push(t, c, root, 0);
	if (r < 0) {
		cursor_free(t, c);
		return r;
	}
	*out = c;
	return 0;
}

/* Appends v in base 8 or 10: printf was a third of the cost of a page. */
static int add_uint(struct buf *b, unsigned long long v, unsigned base)
{
	char t[24], *p = t + sizeof(t);
	do
		*--p = (char)('0' + v % base);
	while (v /= base);
	return buf_add(b, p, (size_t)(t + sizeof(t) - p));
}

/* The next entry's record, appended to rec: 1, or 0 at the end. Does not
 * move. */
static int peek(struct tree *t, struct tree_cursor *c, struct buf *rec)
{
	while (c->n && c->f[c->n - 1].pos >= c->f[c->n - 1].dir->nchildren)
		c->n--;
	if (!c->n)
		return 0;
	struct frame *f = &c->f[c->n - 1];
	const struct inode *ch = f->dir->children[f->pos];
	struct stat st;
	inode_stat(ch, &st);
	int r = f->plen ? buf_add(rec, c->path.data, f->plen) : 0;
	if (r == 0 && (buf_add(rec, ch->name, strlen(ch->name) + 1) < 0 || add_uint(rec, st.st_mode, 8) < 0 ||
		       buf_addch(rec, ' ') < 0 || add_uint(rec, st.st_uid, 10) < 0 || buf_addch(rec, ' ') < 0 ||
		       add_uint(rec, st.st_gid, 10) < 0 || buf_addch(rec, ' ') < 0 ||
		       add_uint(rec, (unsigned long long)st.st_size, 10) < 0))
		r = -ENOMEM;
	if (r == 0 && ch->iv.type == ENTRY_REG) {
		char d[INODE_DIGESTS_TEXT_MAX];
		size_t dl = inode_digests_text(ch, imageview_layer_digest(t->v, ch->iv.layer), d, sizeof(d));
		if (buf_addch(rec, ' ') < 0 || buf_add(rec, d, dl) < 0)
			r = -ENOMEM;
	} else if (r == 0 && ch->iv.type == ENTRY_SYMLINK) {
		r = buf_addch(rec, ' ');
		if (r == 0 && ch->iv.e.link_len)
			r = buf_add(rec, ch->iv.e.link, ch->iv.e.link_len);
	}
	if (r == 0)
		r = buf_addch(rec, 0);
	return r < 0 ? -ENOMEM : 1;
}

/* Past the entry peek gave; into it if it is a directory. */
static int advance(struct tree *t, struct tree_cursor *c)
{
	struct frame *f = &c->f[c->n - 1];
	struct inode *ch = f->dir->children[f->pos++];
	c->next++;
	if (ch->iv.type != ENTRY_DIR)
		return 0;
	buf_setlen(&c->path, f->plen);
	if (buf_adds(&c->path, ch->name) < 0 || buf_addch(&c->path, '/') < 0)
		return -ENOMEM;
	return push(t, c, ch, c->path.len);
}

static int fill(struct tree *t, struct tree_cursor *c, uint64_t start, struct buf *out)
{
	struct buf skip = BUF_INIT, recs = BUF_INIT;
	int r = 0, more = 0;
	/* Anywhere but where the last page ended: from the top again. */
	while (r >= 0 && c->next < start && (r = peek(t, c, &skip)) == 1) {
		buf_reset(&skip);
		r = advance(t, c);
	}
	if (r >= 0 && c->next != start)
		r = -ENODATA;
	/* Records go straight into the page (one record past its end is cut
	 * off again): copying each through a buffer of its own was a tenth
	 * of a page's cost. */
	if (r >= 0 && buf_grow(&recs, TREE_VALUE_MAX) < 0)
		r = -ENOMEM;
	while (r >= 0) {
		size_t mark = recs.len;
		if ((r = peek(t, c, &recs)) != 1)
			break;
		if (recs.len > TREE_VALUE_MAX - 48) {
			buf_setlen(&recs, mark);
			more = 1;
			break;
		}
		r = advance(t, c);
	}
	if (r >= 0 && (buf_addf(out, "%llu %d%c", (unsigned long long)c->next, more, 0) < 0 ||
		       (recs.len && buf_add(out, recs.data, recs.len) < 0)))
		r = -ENOMEM;
	buf_release(&skip);
	buf_release(&recs);
	return r < 0 ? r : 0;
}

void tree_init(struct tree *t, struct inode_table *itab, struct imageview *v)
{
	*t = (struct tree){ .itab = itab, .v = v };
	pthread_mutex_init(&t->lock, NULL);
}

void tree_release(struct tree *t)
{
	cursor_free(t, t->cursor);
	t->cursor = NULL;
	pthread_mutex_destroy(&t->lock);
}

int tree_page(struct tree *t, struct inode *dir, uint64_t start, struct buf *out)
{
	if (dir->iv.type != ENTRY_DIR)
		return -ENODATA;
	pthread_mutex_lock(&t->lock);
	struct tree_cursor *c = t->cursor;
	int r = 0;
	if (!c || c->root != dir || c->next > start) {
		t->cursor = NULL;
		cursor_free(t, c);
		if ((r = cursor_new(t, dir, &c)) == 0)
			t->cursor = c;
	}
	if (r == 0)
		r = fill(t, c, start, out);
	if (r < 0 && r != -ENODATA) {
		/* A half-moved cursor is no use to the next request. */
		t->cursor = NULL;
		cursor_free(t, c);
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}
