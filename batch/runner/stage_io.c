/*
 * What every stage does with the store (stage.h), with one failure policy:
 * a store that is down or slow (STORE_AGAIN) makes the task transient, and
 * the runner retries it; a missing object, a bad key and a store that
 * refuses (STORE_NOTFOUND, STORE_ERR) are permanent, since a retry would
 * find the same.  Our own scratch directory failing (a path too long) is
 * transient: another host, or the same one later, may do better.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"
#include "util.h"

#define INPUT_JSON_MAX	(64L << 20)

enum stage_rc
stage_store_rc(int store_rc)
{
	switch (store_rc) {
	case STORE_OK:
		return STAGE_OK;
	case STORE_AGAIN:
		return STAGE_TRANSIENT;
	default:
		return STAGE_PERMANENT;
	}
}

enum stage_rc
stage_put(struct task_ctx *ctx, const char *key, const char *path,
    const char *content_type, char *err, size_t errlen)
{
	return stage_store_rc(store_put(ctx->store, key, path, content_type,
	    err, errlen));
}

/* The store's own file for KEY when it has one that we can read, else
 * NULL.  Allocated (caller frees). */
static char *
local_file(struct store *st, const char *key)
{
	struct stat sb;
	char *p;

	if ((p = store_local_path(st, key)) == NULL)
		return NULL;
	if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
}

enum stage_rc
stage_input(struct task_ctx *ctx, const char *key, const char *name,
    char **path, char *err, size_t errlen)
{
	char dl[4096];
	int rc;

	*path = NULL;
	if (key == NULL || !store_key_valid(key)) {
		seterr(err, errlen, "A stored file's key is missing or invalid.");
		return STAGE_PERMANENT;
	}
	/* The file store has the bytes on disk already: read them in place. */
	if ((*path = local_file(ctx->store, key)) != NULL)
		return STAGE_OK;
	if (xsnprintf(dl, sizeof(dl), "%s/%s", ctx->scratch, name) != 0) {
		seterr(err, errlen, "The scratch path is too long.");
		return STAGE_TRANSIENT;
	}
	rc = store_get(ctx->store, key, dl, err, errlen);
	if (rc == STORE_NOTFOUND)
		seterr(err, errlen, "The file %s is missing from the store.", key);
	if (rc != STORE_OK)
		return stage_store_rc(rc);
	if ((*path = strdup(dl)) == NULL) {
		seterr(err, errlen, "out of memory");
		return STAGE_TRANSIENT;
	}
	return STAGE_OK;
}

enum stage_rc
stage_input_json(struct task_ctx *ctx, const char *key, const char *name,
    json_t **obj, char *err, size_t errlen)
{
	struct stat sb;
	json_error_t je;
	enum stage_rc rc;
	char *p;

	*obj = NULL;
	if ((rc = stage_input(ctx, key, name, &p, err, errlen)) != STAGE_OK)
		return rc;
	rc = STAGE_PERMANENT;
	if (stat(p, &sb) != 0 || sb.st_size > INPUT_JSON_MAX)
		seterr(err, errlen, "The stored file %s is missing or too large.",
		    key);
	else if ((*obj = json_load_file(p, 0, &je)) == NULL ||
	    !json_is_object(*obj)) {
		seterr(err, errlen, "The stored file %s is not valid JSON.", key);
		json_decref(*obj);
		*obj = NULL;
	} else
		rc = STAGE_OK;
	free(p);
	return rc;
}
