/* s3_req — the s3 provider's requests (s3_req.c: keys, every request
 * signed and sent, errors in the server's words, the XML of answers and
 * bodies), and the provider's own state they use, which s3.c (the
 * operations) makes. Internal to the provider: mk_prov_s3_new
 * (provider.h) is its only entry. */
#ifndef MK_PROV_S3_REQ_H
#define MK_PROV_S3_REQ_H

#include <libxml/tree.h>
#include <pthread.h>

#include "runtime/config.h"
#include "runtime/httpc.h"
#include "runtime/pgcred.h"
#include "runtime/providers/bucket.h"
#include "runtime/providers/provider.h"

#define S3_DEFAULT_APIS                                                                                                \
    (MK_BUCKET_API_ENCRYPTION | MK_BUCKET_API_VERSIONING | MK_BUCKET_API_PUBLIC_ACCESS_BLOCK | MK_BUCKET_API_TAGGING | \
     MK_BUCKET_API_POLICY)
#define S3_ALL_APIS (S3_DEFAULT_APIS | MK_BUCKET_API_PUBLIC_ACCESS)
/* note [s3 owner]: the owner tag's keys, or the marker object's key when
 * the server has no bucket tagging */
#define OWNER_STACK "moksha-stack"
#define OWNER_RUN "moksha-run"
#define OWNER_ADDRESS "moksha-address"
#define MARKER ".moksha-owner"

typedef struct s3p {
    mk_prov base;
    const mk_config_conn *cc;
    char alias[64], region[64];
    json_t *fail_on;
    mk_prov_bucket_backend be;
    mk_pgcred *cred; /* credential_command, or NULL: the environment */
    char ak_env[128], sk_env[128], tok_env[128];
    pthread_mutex_t mu;
    bool probed; /* the check reached the server and it took the credentials */
} s3p;

#define API(p, bit) (((p)->be.implements & (bit)) != 0)

/* One request: path-style /BUCKET[/KEY], a query already in SigV4's
 * canonical form (note [s3 query]), a body, one more header. */
typedef struct call {
    const char *method, *bucket, *key, *query;
    const char *body;
    size_t body_len;
    const char *header; /* one more header line, or NULL */
} call;

/* A request whose answer must be 2xx, or one of the statuses in ok
 * (0-ended, e.g. mk_prov_s3_req_not_found); *r gets the answer (the caller
 * frees it). Else why has the server's code and message, naming what. */
mk_prov_status mk_prov_s3_req_call(s3p *p, const mk_prov_op *op, const call *c, const char *what, const long *ok,
                                   mk_httpc_resp *r, char *why, size_t whylen);
/* The same, the answer dropped; *status (may be NULL) gets its status. */
mk_prov_status mk_prov_s3_req_simple(s3p *p, const mk_prov_op *op, const call *c, const char *what, const long *ok,
                                     long *status, char *why, size_t whylen);
extern const long mk_prov_s3_req_not_found[]; /* {404, 0} */
/* The server's error code and message from an error answer. */
void mk_prov_s3_req_error(const mk_httpc_resp *r, char *code, size_t cl, char *msg, size_t ml);

/* XML through libxml2: an answer parsed (no network, no entities; NULL
 * when none), the first element called name under n (n included), the
 * text of n's child name into buf, a new document with a root in S3's
 * namespace, and a document dumped as a new string (the document freed). */
xmlDoc *mk_prov_s3_req_xml_read(const mk_httpc_resp *r);
xmlNode *mk_prov_s3_req_xml_find(xmlNode *n, const char *name);
const char *mk_prov_s3_req_xml_child(xmlNode *n, const char *name, char *buf, size_t len);
xmlNode *mk_prov_s3_req_xml_root(xmlDoc **d, const char *name);
char *mk_prov_s3_req_xml_dump(xmlDoc *d, size_t *len);

#endif
