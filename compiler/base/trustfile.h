/* trustfile — the trust file as its signers see it (docs/trust.md, "The
 * trust file: moksha.trust/v1"): reading a payload or an envelope, checking
 * a payload's shape (every field's form, names, key texts, the threshold
 * within the roots, expires as RFC 3339 UTC, no unknown field, no
 * duplicate), adding a root's signature and writing the envelope. It does
 * not decide whether an executor accepts the file (current roots, version
 * never going down, trust.seen): that is the executor's own, which shares
 * no code with this (docs/architecture.md, "Layers"). */
#ifndef MK_TRUSTFILE_H
#define MK_TRUSTFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct evp_pkey_st;

#define MK_TRUSTFILE_FORMAT "moksha.trust/v1"

/* A trust file read: the payload's text (signed as it is), the payload
 * parsed from it, and the envelope's signatures (an empty array for a bare
 * payload). All owned; mk_trustfile_free. */
typedef struct mk_trustfile {
    bool envelope;    /* the file was an envelope (else a bare payload) */
    char *payload;    /* the payload text, NUL-terminated */
    size_t npayload;
    json_t *doc;      /* the payload parsed */
    json_t *signatures; /* [{"key": TEXT, "value": BASE64}] */
} mk_trustfile;

/* Read path: an envelope ({"format": "moksha.trust/v1", "payload": TEXT,
 * "signatures": [...]}), whose payload text is kept byte for byte, or a
 * bare payload object, whose text becomes its compact JSON (the order of
 * its fields kept). The payload's shape is checked (mk_trustfile_check),
 * and each signature's. False with why, which names path. */
bool mk_trustfile_read(const char *path, mk_trustfile *t, char *why, size_t whylen);
/* A payload's shape; false with why (naming the field). */
bool mk_trustfile_check(json_t *payload, char *why, size_t whylen);
/* expires as seconds since the epoch; -1 when it is not RFC 3339 UTC
 * (YYYY-MM-DDTHH:MM:SSZ). */
long long mk_trustfile_time(const char *text);
/* Whether signature i verifies: its key's signature of type trust over the
 * payload text. */
bool mk_trustfile_sig_ok(const mk_trustfile *t, size_t i);
/* Add key's signature; false with why when this key signed it already
 * (nothing is replaced). */
bool mk_trustfile_add(mk_trustfile *t, struct evp_pkey_st *key, char *why, size_t whylen);
/* The envelope's text (mk_mem_free): format, payload, signatures. */
char *mk_trustfile_envelope(const mk_trustfile *t);
void mk_trustfile_free(mk_trustfile *t);

#endif
