/* bucket — what the object-storage providers (s3, azure_blob) share about
 * the abstract `bucket` (stdlib/types/storage.moksha; docs/providers.md,
 * "The s3 provider"): the name a bucket gets on the server, the table of
 * which attributes a backend can enforce (refused before the first step
 * otherwise), and the read's form of what a backend reports.
 *
 * Pure functions over borrowed JSON: no server is reached here. */
#ifndef MK_PROV_BUCKET_H
#define MK_PROV_BUCKET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The bucket APIs a server may implement: a connection's `implements`. */
enum {
    MK_BUCKET_API_ENCRYPTION = 1 << 0,          /* "encryption": PutBucketEncryption */
    MK_BUCKET_API_VERSIONING = 1 << 1,          /* "versioning" */
    MK_BUCKET_API_PUBLIC_ACCESS_BLOCK = 1 << 2, /* "public_access_block" */
    MK_BUCKET_API_TAGGING = 1 << 3,             /* "tagging": bucket tags (Azure: container metadata) */
    MK_BUCKET_API_POLICY = 1 << 4,              /* "policy": a bucket policy */
    MK_BUCKET_API_PUBLIC_ACCESS = 1 << 5        /* "public_access": a canned ACL (Azure: x-ms-blob-public-access) */
};

/* What a backend behind one connection can do. */
typedef struct mk_prov_bucket_backend {
    const char *kind;       /* "s3", "azure_blob": for messages */
    const char *conn;       /* the connection's name: for messages */
    unsigned settable;      /* the APIs this kind of backend could ever implement (azure: tagging, public_access) */
    unsigned implements;    /* those the connection says its server implements */
    /* the connection's `vouches`: -1 not said, 0 false, 1 true */
    int vouch_encrypted, vouch_versioning, vouch_public_access_block;
    bool always_encrypted;  /* the service encrypts every object at rest: encrypted = false cannot hold */
} mk_prov_bucket_backend;

/* The name of a bucket whose spec leaves bucket_name null, from its
 * address: the resource name and index lowercased, every character but
 * a-z and 0-9 made `-`, runs of `-` made one, `-` trimmed from both ends,
 * at most 63 characters, padded with `x` to 3 (`bucket.logs["EU"]` →
 * `logs-eu`, `bucket.k2` → `k2x`). False when buf (at least 64 bytes) is too small. */
bool mk_prov_bucket_name(const char *address, char *buf, size_t n);
/* The bucket's name: attrs.bucket_name when it is a string, else the one
 * made from the address. */
bool mk_prov_bucket_name_of(json_t *attrs, const char *address, char *buf, size_t n);
/* Is name one the type allows (3–63 of a-z, 0-9, single hyphens, a letter
 * or digit at each end)? */
bool mk_prov_bucket_name_ok(const char *name);

/* The APIs a connection's `implements` names (NULL: dflt). False with why
 * for a name that is not an API. */
bool mk_prov_bucket_apis(json_t *implements, unsigned dflt, unsigned *out, char *why, size_t whylen);
/* The connection's `vouches` into b (absent keys: -1). */
void mk_prov_bucket_vouches(json_t *vouches, mk_prov_bucket_backend *b);

/* note [bucket enforce]: every attribute of attrs the backend cannot
 * enforce, each with the key that would allow it, in one message into why
 * ("s3: bucket.logs: cannot be enforced on connection store: versioning =
 * true (…); tags (…)"); the count of them (0: every attribute can). */
size_t mk_prov_bucket_refusals(const mk_prov_bucket_backend *b, const char *address, json_t *attrs, char *why,
                               size_t whylen);

/* What a backend saw of a bucket, for its read. -1: not asked (the server
 * is never asked what it does not implement): the recorded value stands. */
typedef struct mk_prov_bucket_seen {
    int encrypted, versioning, public_access_block, public_read;
    const char *kms_key;    /* the key of SSE-KMS, or NULL */
    json_t *tags;           /* borrowed: the bucket's own tags (the owner tag left out), or NULL: not asked */
    const char *id, *endpoint;
} mk_prov_bucket_seen;

/* The read's answer in the state's form (docs/providers.md, "What a read
 * returns"): recorded (the state's attributes, or for an import the
 * desired ones, or NULL) with what was seen put over it. A new object. */
json_t *mk_prov_bucket_form(json_t *recorded, const mk_prov_bucket_seen *seen);

#endif
