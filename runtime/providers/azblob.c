/* azblob — the azure_blob provider (docs/providers.md, "The azure_blob
 * provider"): the abstract `bucket` as a container of an Azure storage
 * account, over the Blob REST API, every request signed with the
 * account's Shared Key (azblob_sign.c) and sent through runtime/httpc.c
 * under its connection's rules. Answers in XML are read with libxml2,
 * never by hand, with no network and no DTD.
 *
 * What a container holds is its metadata (the bucket's tags, and the owner
 * tag, note [az owner]) and its public access level (`public`); what the
 * account holds — encryption, versioning, the public access block — a Blob
 * endpoint cannot set, so the connection vouches for it or the bucket is
 * refused before the first step (note [az enforce]). */
#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "runtime/config.h"
#include "runtime/httpc.h"
#include "runtime/pgcred.h"
#include "runtime/providers/azblob_sign.h"
#include "runtime/providers/bucket.h"
#include "runtime/providers/fault.h"
#include "runtime/providers/provider.h"
#include "runtime/providers/seen.h"
#include "runtime/rand.h"

#define KEYMAX 128   /* decoded account key bytes (Azure's are 64) */
#define METAMAX 8192 /* Azure's limit on a container's metadata, names and values */

typedef struct az {
    mk_prov base;
    const mk_config_conn *cc;
    char alias[64];
    json_t *fail_on;  /* owned */
    mk_pgcred *cred;  /* credential_command; NULL: the environment variable */
    char key_env[160];
    pthread_mutex_t mu;
    bool reached;     /* the check has reached the account once, signed */
} az;

/* ---- the account key ---- */

/* The decoded key into key; its length, 0 with why (never the key). */
static size_t account_key(az *p, const mk_prov_op *op, unsigned char *key, mk_prov_status *st, char *why,
                          size_t whylen)
{
    *st = MK_PROV_FAILED;
    char *b64 = NULL;
    const char *from = p->key_env;
    if (p->cred) {
        bool retry = false;
        char w[300];
        b64 = mk_pgcred_get(p->cred, op && op->deadline_ms > 0 ? op->deadline_ms : 0, &retry, w, sizeof w);
        if (!b64) {
            *st = retry ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
            return snprintf(why, whylen, "azure_blob: %s: %s", op && op->address ? op->address : p->alias, w), 0;
        }
        from = "the credential_command's account_key";
    } else {
        const char *e = getenv(p->key_env);
        if (!e || !*e)
            return snprintf(why, whylen, "azure_blob: %s: connection %s: no account key: the executor's environment "
                            "has no %s (docs/providers.md, \"HTTP connections\")",
                            op && op->address ? op->address : p->alias, p->cc->name, p->key_env), 0;
        b64 = strdup(e);
        if (!b64)
            return snprintf(why, whylen, "out of memory"), *st = MK_PROV_RETRYABLE, 0;
    }
    size_t n = mk_prov_azblob_sign_key(b64, key, KEYMAX);
    if (p->cred)
        mk_pgcred_wipe(b64);
    else
        OPENSSL_cleanse(b64, strlen(b64)), free(b64);
    if (!n)
        snprintf(why, whylen, "azure_blob: %s: connection %s: the account key (%s) is not base64 of at most %d bytes",
                 op && op->address ? op->address : p->alias, p->cc->name, from, KEYMAX);
    else
        *st = MK_PROV_OK;
    return n;
}

/* ---- requests ---- */

typedef struct azreq {
    const char *method;
    const char *container; /* NULL: the account (the service) */
    const char *blob;      /* NULL: the container itself */
    const char *query;     /* encoded, "restype=container&comp=metadata" */
    const char *const *headers; /* x-ms-meta-…, x-ms-blob-public-access: NULL-terminated, may be NULL */
    const char *body;
    size_t body_len;
} azreq;

/* The URL of a request and its path as sent (for the canonicalized
 * resource). */
static bool url_of(const az *p, const azreq *r, char *url, size_t n, char *path, size_t pn)
{
    char rel[1200] = "";
    if (r->container) {
        char *b = r->blob ? mk_httpc_escape(r->blob, true) : NULL;
        if (r->blob && !b)
            return false;
        int w = snprintf(rel, sizeof rel, "/%s%s%s", r->container, b ? "/" : "", b ? b : "");
        free(b);
        if (w < 0 || (size_t)w >= sizeof rel)
            return false;
    }
    if (!mk_httpc_url(p->cc, rel[0] ? rel : "/", r->query, url, n))
        return false;
    CURLU *u = curl_url();
    char *pp = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PATH, &pp, 0) == CURLUE_OK && strlen(pp) < pn;
    if (ok)
        snprintf(path, pn, "%s", pp);
    curl_free(pp);
    curl_url_cleanup(u);
    return ok;
}

/* Send r signed; *resp holds the answer whatever its status. */
static mk_prov_status send_signed(az *p, const mk_prov_op *op, const azreq *r, mk_httpc_resp *resp, char *sig,
                                  size_t sign, char *why, size_t whylen)
{
    char url[1400], path[1300], date[64], clen[48], auth[300];
    memset(resp, 0, sizeof *resp);
    if (!url_of(p, r, url, sizeof url, path, sizeof path))
        return snprintf(why, whylen, "azure_blob: %s: connection %s: the request's URL does not fit",
                        op && op->address ? op->address : p->alias, p->cc->name), MK_PROV_FAILED;
    bool has_body = strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0;
    mk_prov_azblob_sign_date(time(NULL), date, sizeof date);
    char xdate[96];
    snprintf(xdate, sizeof xdate, "x-ms-date: %s", date);
    snprintf(clen, sizeof clen, "Content-Length: %zu", r->body_len);
    const char *lines[64];
    size_t k = 0;
    lines[k++] = xdate;
    lines[k++] = "x-ms-version: " MK_PROV_AZBLOB_SIGN_VERSION;
    lines[k++] = r->body_len ? "Content-Type: application/xml" : "Content-Type:";
    for (const char *const *h = r->headers; h && *h && k < 60; h++)
        lines[k++] = *h;
    size_t nsend = k;
    if (has_body)
        lines[k++] = clen; /* libcurl sends it; it is signed as sent */
    lines[k] = NULL;
    char *sts = mk_prov_azblob_sign_string(r->method, lines, p->cc->account, path, r->query);
    if (!sts)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    unsigned char key[KEYMAX];
    mk_prov_status st;
    size_t kn = account_key(p, op, key, &st, why, whylen);
    bool signed_ok = kn && mk_prov_azblob_sign_hmac(key, kn, sts, sig, sign);
    OPENSSL_cleanse(key, sizeof key);
    free(sts);
    if (!kn)
        return st;
    if (!signed_ok)
        return snprintf(why, whylen, "azure_blob: cannot sign the request"), MK_PROV_FAILED;
    snprintf(auth, sizeof auth, "Authorization: SharedKey %s:%s", p->cc->account, sig);
    lines[nsend] = auth;
    lines[nsend + 1] = NULL;
    mk_httpc_req req = {.conn = p->cc, .method = r->method, .url = url, .headers = lines, .body = r->body,
                        .body_len = r->body_len, .deadline_ms = op ? op->deadline_ms : 0};
    char w[600];
    st = mk_httpc_send(&req, resp, w, sizeof w);
    OPENSSL_cleanse(auth, sizeof auth);
    if (st != MK_PROV_OK)
        snprintf(why, whylen, "azure_blob: %s: %s", op && op->address ? op->address : p->alias, w);
    return st;
}

/* ---- answers: XML through libxml2 ---- */

/* The document of an answer, or NULL: no network, no DTD (a document with
 * one is refused: no entity of a server's is ever expanded). */
static xmlDocPtr xml_of(const mk_httpc_resp *resp)
{
    if (!resp->body || !resp->len || resp->len > (size_t)1 << 30)
        return NULL;
    xmlDocPtr d = xmlReadMemory(resp->body, (int)resp->len, "answer.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    if (d && (d->intSubset || d->extSubset)) {
        xmlFreeDoc(d);
        return NULL;
    }
    return d;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* An element's text, its first line, printable ASCII only, into out. */
static void text_of(xmlNodePtr n, char *out, size_t len)
{
    out[0] = 0;
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    size_t k = 0;
    for (const xmlChar *c = t; c && *c && *c != '\n' && *c != '\r' && k + 1 < len; c++)
        out[k++] = (*c >= 0x20 && *c < 0x7f) ? (char)*c : '?';
    out[k] = 0;
    xmlFree(t);
}

/* "STATUS CODE: MESSAGE" of a refusal: the error code (x-ms-error-code,
 * else the body's <Code>) and the first line of <Message>; never a header
 * or body sent — a message holding the request's signature, or quoting its
 * Authorization header, is cut there. */
static void refusal(const mk_httpc_resp *resp, const char *sig, char *out, size_t n)
{
    char code[128] = "", msg[240] = "";
    const char *h = mk_httpc_header(resp, "x-ms-error-code");
    xmlDocPtr d = xml_of(resp);
    xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
    if (root && strcmp((const char *)root->name, "Error") == 0) {
        text_of(child(root, "Code"), code, sizeof code);
        text_of(child(root, "Message"), msg, sizeof msg);
    }
    xmlFreeDoc(d);
    if (h && *h) {
        size_t k = 0;
        for (; h[k] && k + 1 < sizeof code; k++)
            code[k] = (h[k] >= 0x20 && h[k] < 0x7f) ? h[k] : '?';
        code[k] = 0;
    }
    char *cut = sig && *sig ? strstr(msg, sig) : NULL, *auth = strcasestr(msg, "SharedKey");
    if (cut)
        *cut = 0;
    if (auth) /* a server quoting the Authorization header back */
        *auth = 0;
    if (sig && *sig && strstr(code, sig))
        snprintf(code, sizeof code, "(an error code repeating the request: not shown)");
    snprintf(out, n, "%ld %s%s%s", resp->status, code[0] ? code : "(no error code)", msg[0] ? ": " : "", msg);
}

static bool code_is(const mk_httpc_resp *resp, const char *code)
{
    const char *h = mk_httpc_header(resp, "x-ms-error-code");
    if (h)
        return strcmp(h, code) == 0;
    char c[128] = "";
    xmlDocPtr d = xml_of(resp);
    xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
    if (root && strcmp((const char *)root->name, "Error") == 0)
        text_of(child(root, "Code"), c, sizeof c);
    xmlFreeDoc(d);
    return strcmp(c, code) == 0;
}

/* A request answered otherwise than want: the status for it and why. */
static mk_prov_status refused(az *p, const mk_prov_op *op, const char *what, const mk_httpc_resp *resp,
                              const char *sig, char *why, size_t whylen)
{
    char r[420];
    refusal(resp, sig, r, sizeof r);
    snprintf(why, whylen, "azure_blob: %s: %s: connection %s answered %s", op && op->address ? op->address : p->alias,
             what, p->cc->name, r);
    return mk_httpc_status_retryable(resp->status) || code_is(resp, "ContainerBeingDeleted") ||
                   code_is(resp, "OperationTimedOut") || code_is(resp, "ServerBusy")
               ? MK_PROV_RETRYABLE
               : MK_PROV_FAILED;
}

/* ---- attributes ---- */

static const char *attr_str(const json_t *a, const char *k) { return json_string_value(json_object_get(a, k)); }

/* The container's name for op: bucket_name, else from the address; false
 * with why when it is no container name. */
static bool container_of(const mk_prov_op *op, char *out, size_t n, char *why, size_t whylen)
{
    const char *bn = op->import_id ? op->import_id : attr_str(op->attrs, "bucket_name");
    if (bn)
        snprintf(out, n, "%s", bn);
    else if (!mk_prov_bucket_name(op->address, out, n))
        out[0] = 0;
    if (!mk_prov_bucket_name_ok(out))
        return snprintf(why, whylen, "azure_blob: %s: `%.80s` is not a container name (3 to 63 of a-z, 0-9 and single "
                        "hyphens, a letter or digit at both ends)", op->address, out), false;
    return true;
}

static bool implements(const az *p, const char *api)
{
    json_t *im = p->cc->implements;
    if (!im)
        return strcmp(api, "tagging") == 0 || strcmp(api, "public_access") == 0;
    size_t i;
    json_t *v;
    json_array_foreach(im, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), api) == 0)
            return true;
    return false;
}

/* vouches.KEY: 1 true, 0 false, -1 not said. */
static int vouched(const az *p, const char *key)
{
    json_t *v = json_object_get(p->cc->vouches, key);
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* A metadata name Azure takes (a C# identifier) that is not the owner
 * tag's. */
static bool tag_key_ok(const char *k)
{
    size_t n = strlen(k);
    return n >= 1 && n <= 200 && !(k[0] >= '0' && k[0] <= '9') &&
           strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n &&
           strncasecmp(k, "moksha_", 7) != 0;
}

/* A metadata value: printable ASCII, no space at either end (HTTP trims
 * it), so that it reads back as written, and no two spaces in a row: the
 * Shared Key string to sign makes a run of them one, the header carries
 * them as written, and servers differ on which they check. */
static bool tag_value_ok(const char *v)
{
    size_t n = strlen(v);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e || (v[i] == ' ' && v[i + 1] == ' '))
            return false;
    return n == 0 || (v[0] != ' ' && v[n - 1] != ' ');
}

/* Append "; " and a reason to a list of them. */
static void add(char *list, size_t n, const char *fmt, const char *a, const char *b)
{
    size_t len = strlen(list);
    if (len + 3 >= n)
        return;
    if (len)
        strcat(list, "; ");
    len = strlen(list);
    snprintf(list + len, n - len, fmt, a, b);
}

/* The tags' problems into list: not a metadata name or value, a secret,
 * two names Azure takes for one (it ignores case), more than METAMAX. */
static void judge_tags(const az *p, json_t *tags, char *list, size_t n)
{
    if (!json_is_object(tags) || json_object_size(tags) == 0)
        return;
    if (!implements(p, "tagging")) {
        add(list, n, "tags: connection %s does not list \"tagging\" in `implements`%s", p->cc->name, "");
        return;
    }
    size_t total = 0;
    const char *k, *k2;
    json_t *v, *v2;
    json_object_foreach(tags, k, v) {
        if (json_is_null(v))
            continue; /* computed by another step: judged when it is made */
        if (mk_prov_seen_is_secret(v))
            add(list, n, "tags.%s: a secret in a container's metadata is readable by whoever may read the container%s", k, "");
        else if (!json_is_string(v) || !tag_value_ok(json_string_value(v)))
            add(list, n, "tags.%s: a metadata value is printable ASCII without a space at either end or two in a "
                "row%s", k, "");
        if (!tag_key_ok(k))
            add(list, n, "tags.%s: a metadata name is letters, digits and _, not starting with a digit, and not "
                "moksha_… (the owner tag's)%s", k, "");
        json_object_foreach(tags, k2, v2)
            if (k2 != k && strcasecmp(k, k2) == 0 && strcmp(k, k2) < 0)
                add(list, n, "tags.%s and tags.%s: Azure's metadata names ignore case: they would be one", k, k2);
        total += strlen(k) + (json_is_string(v) ? json_string_length(v) : 0);
    }
    if (total > METAMAX - 512)
        add(list, n, "tags: more than %s bytes of metadata (Azure keeps 8 KiB a container, the owner tag included)%s",
            "7680", "");
}

/* note [az enforce]: what a bucket asks that a container of this
 * connection cannot be made to hold, each with the key that would allow it
 * where one would, into list (empty: everything can). Encryption,
 * versioning and the public access block are the storage account's
 * settings: the connection's `vouches` says what the account has. */
static void judge(const az *p, json_t *a, char *list, size_t n)
{
    const char *c = p->cc->name;
    json_t *enc = json_object_get(a, "encrypted"), *ver = json_object_get(a, "versioning");
    json_t *pab = json_object_get(a, "public_access_block"), *pub = json_object_get(a, "public");
    const char *sc = attr_str(a, "storage_class");
    if (json_is_false(enc))
        add(list, n, "encrypted = false: Azure encrypts every storage account at rest, so an unencrypted container "
            "cannot be made (on connection %s)%s", c, "");
    else if (json_is_true(enc) && vouched(p, "encrypted") != 1)
        add(list, n, "encrypted = true: encryption is the storage account's, which a container cannot set: connection "
            "%s does not vouch for it (`vouches`: {\"encrypted\": true}%s)", c, "");
    if (json_is_boolean(ver) && json_is_true(ver) != (vouched(p, "versioning") == 1))
        add(list, n, json_is_true(ver) ? "versioning = true: blob versioning is the storage account's, which a "
            "container cannot set: connection %s does not vouch for it (`vouches`: {\"versioning\": true}%s)"
            : "versioning = false: connection %s vouches that the storage account versions every blob (`vouches`: "
            "{\"versioning\": true}%s)", c, "");
    if (json_is_boolean(pab) && json_is_true(pab) != (vouched(p, "public_access_block") == 1) &&
        (json_is_true(pab) || vouched(p, "public_access_block") == 1))
        add(list, n, json_is_true(pab) ? "public_access_block = true: blocking public access is the storage "
            "account's setting (AllowBlobPublicAccess), which a container cannot set: connection %s does not vouch "
            "for it (`vouches`: {\"public_access_block\": true}%s)"
            : "public_access_block = false: connection %s vouches that the storage account blocks public access "
            "(`vouches`: {\"public_access_block\": true}%s)", c, "");
    if (json_is_true(pub) && !implements(p, "public_access"))
        add(list, n, "public = true: connection %s does not list \"public_access\" in `implements`%s", c, "");
    else if (json_is_true(pub) && vouched(p, "public_access_block") == 1)
        add(list, n, "public = true: connection %s vouches that the storage account blocks public access%s", c, "");
    if (sc && strcmp(sc, "standard") != 0)
        add(list, n, "storage_class = \"%s\": a blob's access tier is the account's default or each blob's, not a "
            "container's%s", sc, "");
    static const char *const never[] = {"retention", "Azure's immutability policies are the management plane's",
                                        "redundancy", "replication (LRS, ZRS, GRS) is the storage account's",
                                        "kms_key", "a customer-managed key is the storage account's", NULL};
    for (size_t i = 0; never[i]; i += 2)
        if (json_object_get(a, never[i]) && !json_is_null(json_object_get(a, never[i])))
            add(list, n, "%s: %s, which a container cannot set", never[i], never[i + 1]);
    static const char *const not_true[] = {"public_write", "Azure has no anonymous write",
                                           "authenticated_read", "Azure has no access for any account of the cloud",
                                           "access_logging", "logging is the storage account's diagnostic setting",
                                           "lifecycle_rules", "lifecycle management is the storage account's",
                                           "replication", "object replication is the management plane's",
                                           "private_endpoint", "a private endpoint is the storage account's", NULL};
    for (size_t i = 0; not_true[i]; i += 2)
        if (json_is_true(json_object_get(a, not_true[i])))
            add(list, n, "%s = true: %s", not_true[i], not_true[i + 1]);
    judge_tags(p, json_object_get(a, "tags"), list, n);
}

/* ---- the owner tag: note [az owner] ----
 *
 * A container moksha makes carries the metadata moksha_stack, moksha_run
 * and moksha_address (percent-encoded), set by the very request that makes
 * it, so that no container of moksha's exists untagged. The rule is the
 * sim's and postgres's: another stack's, or an untagged one, is foreign;
 * this stack's at another address is foreign too (two addresses whose
 * names meet); an earlier run's is adopted, this run's taken. Whoever can
 * write a container's metadata can forge the tag — they hold the account
 * key or a SAS to write it, and could delete the container as well. */

typedef enum { OWN_NONE, OWN_OTHER, OWN_THIS_RUN, OWN_EARLIER_RUN } own;

typedef struct held {
    bool there;
    char access[16];  /* x-ms-blob-public-access: "", "blob", "container" */
    json_t *meta;     /* {name (lowercase): value}, owner tag included */
} held;

static own owner(const mk_prov_op *op, const held *h)
{
    const char *st = json_string_value(json_object_get(h->meta, "moksha_stack"));
    const char *run = json_string_value(json_object_get(h->meta, "moksha_run"));
    const char *ad = json_string_value(json_object_get(h->meta, "moksha_address"));
    if (!st || !op->stack_id || strcmp(st, op->stack_id) != 0)
        return st ? OWN_OTHER : OWN_NONE;
    char *want = mk_httpc_escape(op->address, false);
    bool same = want && ad && strcmp(want, ad) == 0;
    free(want);
    if (!same)
        return OWN_OTHER;
    return run && op->run_id && strcmp(run, op->run_id) == 0 ? OWN_THIS_RUN : OWN_EARLIER_RUN;
}

static mk_prov_status no_stack(const mk_prov_op *op, char *why, size_t whylen)
{
    snprintf(why, whylen, "azure_blob: %s: no stack id: the azure_blob provider changes nothing without the stack its "
             "owner tag names (docs/providers.md, \"The azure_blob provider\")", op->address);
    return MK_PROV_FAILED;
}

static mk_prov_status foreign(const mk_prov_op *op, const char *name, own o, const char *doing, char *why,
                              size_t whylen)
{
    snprintf(why, whylen, "azure_blob: %s: container %s %s (%s): not %s; to manage it, `moksha import %s %s`",
             op->address, name, doing, o == OWN_NONE ? "it has no owner tag of moksha's" : "another stack or address made it",
             strcmp(doing, "already exists and this stack did not make it") == 0 ? "taken over" : "changed", op->address,
             name);
    return MK_PROV_FAILED;
}

static void held_free(held *h) { json_decref(h->meta), h->meta = NULL; }

/* A metadata name as a server sends it (lowercased): a C# identifier of
 * ASCII letters, digits and _. */
static bool meta_name_ok(const char *k)
{
    size_t n = strlen(k);
    return n >= 1 && !(k[0] >= '0' && k[0] <= '9') && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* A metadata value as a server sends it: printable ASCII. */
static bool meta_value_ok(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
            return false;
    return true;
}

/* Get Container Properties: h->there false when it does not exist. */
static mk_prov_status look(az *p, const mk_prov_op *op, const char *name, held *h, char *why, size_t whylen)
{
    memset(h, 0, sizeof *h);
    mk_httpc_resp r;
    char sig[64] = "";
    azreq q = {.method = "GET", .container = name, .query = "restype=container"};
    mk_prov_status st = send_signed(p, op, &q, &r, sig, sizeof sig, why, whylen);
    if (st != MK_PROV_OK)
        return mk_httpc_resp_free(&r), st;
    if (r.status == 404 && code_is(&r, "ContainerNotFound"))
        return mk_httpc_resp_free(&r), MK_PROV_OK;
    if (r.status != 200) {
        char what[128];
        snprintf(what, sizeof what, "get container %s", name);
        st = refused(p, op, what, &r, sig, why, whylen);
        mk_httpc_resp_free(&r);
        return st;
    }
    h->there = true;
    h->meta = json_object();
    for (size_t i = 0; i < r.nheaders; i++) {
        const char *line = r.headers[i], *colon = strchr(line, ':');
        if (strncmp(line, "x-ms-meta-", 10) != 0 || !colon)
            continue;
        char nm[256];
        snprintf(nm, sizeof nm, "%.*s", (int)(colon - line - 10), line + 10);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        /* what the server says the container holds goes into the state,
         * the outputs and, on an import or an update, headers sent back:
         * metadata no Azure holds (a name no C# identifier, a value not
         * printable ASCII) is refused, never passed on */
        if ((size_t)(colon - line - 10) >= sizeof nm || !meta_name_ok(nm) || !meta_value_ok(v)) {
            char shown[64];
            size_t k = 0;
            for (const char *c = line; c < colon && k + 1 < sizeof shown; c++)
                shown[k++] = *c >= 0x20 && *c < 0x7f ? *c : '?';
            shown[k] = 0;
            snprintf(why, whylen, "azure_blob: %s: get container %s: connection %s answered metadata no Azure "
                     "container holds (`%s`: its name is no C# identifier or its value is not printable ASCII): not "
                     "read", op && op->address ? op->address : p->alias, name, p->cc->name, shown);
            held_free(h);
            mk_httpc_resp_free(&r);
            return MK_PROV_FAILED;
        }
        json_object_set_new(h->meta, nm, json_string(v));
    }
    const char *acc = mk_httpc_header(&r, "x-ms-blob-public-access");
    snprintf(h->access, sizeof h->access, "%s", acc ? acc : "");
    mk_httpc_resp_free(&r);
    return MK_PROV_OK;
}

/* ---- writes ---- */

/* The metadata lines to send: the owner tag (as given) and the tags. */
static char **meta_lines(json_t *tags, const char *stack, const char *run, const char *address)
{
    size_t n = (json_is_object(tags) ? json_object_size(tags) : 0) + 4;
    char **l = calloc(n, sizeof *l);
    if (!l)
        return NULL;
    size_t k = 0;
    char *ad = address ? mk_httpc_escape(address, false) : NULL;
    if (stack && run && ad) {
        if (asprintf(&l[k++], "x-ms-meta-moksha_stack: %s", stack) < 0 ||
            asprintf(&l[k++], "x-ms-meta-moksha_run: %s", run) < 0 ||
            asprintf(&l[k++], "x-ms-meta-moksha_address: %s", ad) < 0)
            l[--k] = NULL;
    }
    free(ad);
    const char *key;
    json_t *v;
    if (json_is_object(tags))
        json_object_foreach(tags, key, v)
            if (json_is_string(v) && asprintf(&l[k], "x-ms-meta-%s: %s", key, json_string_value(v)) >= 0)
                k++;
    return l;
}

static void lines_free(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

static const char *access_of(json_t *a) { return json_is_true(json_object_get(a, "public")) ? "blob" : NULL; }

/* One write answered with one of the statuses ok1/ok2. */
static mk_prov_status write_req(az *p, const mk_prov_op *op, const azreq *q, long ok1, long ok2, const char *what,
                                mk_httpc_resp *keep, char *why, size_t whylen)
{
    mk_httpc_resp r;
    char sig[64] = "";
    mk_prov_status st = send_signed(p, op, q, &r, sig, sizeof sig, why, whylen);
    if (st == MK_PROV_OK && r.status != ok1 && r.status != ok2)
        st = refused(p, op, what, &r, sig, why, whylen);
    if (keep && st == MK_PROV_OK)
        *keep = r;
    else
        mk_httpc_resp_free(&r);
    return st;
}

/* Set Container Metadata: every name at once (Azure replaces the set), the
 * owner tag as it was found (note [az owner]). */
static mk_prov_status set_meta(az *p, const mk_prov_op *op, const char *name, const held *h, json_t *tags, char *why,
                               size_t whylen)
{
    char *ad = NULL;
    const char *enc = json_string_value(json_object_get(h->meta, "moksha_address"));
    int un = 0;
    if (enc)
        ad = curl_easy_unescape(NULL, enc, 0, &un);
    char **l = meta_lines(tags, json_string_value(json_object_get(h->meta, "moksha_stack")),
                          json_string_value(json_object_get(h->meta, "moksha_run")), ad);
    curl_free(ad);
    if (!l)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    char what[128];
    snprintf(what, sizeof what, "set the metadata of container %s", name);
    azreq q = {.method = "PUT", .container = name, .query = "comp=metadata&restype=container",
               .headers = (const char *const *)l};
    mk_prov_status st = write_req(p, op, &q, 200, 200, what, NULL, why, whylen);
    lines_free(l);
    return st;
}

/* Set Container ACL with the access level public asks, keeping the stored
 * access policies the container has (Azure replaces them with the body). */
static mk_prov_status set_access(az *p, const mk_prov_op *op, const char *name, const char *access, char *why,
                                 size_t whylen)
{
    char what[128];
    snprintf(what, sizeof what, "get the ACL of container %s", name);
    mk_httpc_resp acl;
    azreq g = {.method = "GET", .container = name, .query = "comp=acl&restype=container"};
    mk_prov_status st = write_req(p, op, &g, 200, 200, what, &acl, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    char line[64];
    snprintf(line, sizeof line, "x-ms-blob-public-access: %s", access ? access : "");
    const char *hs[] = {line, NULL};
    snprintf(what, sizeof what, "set the public access of container %s", name);
    azreq q = {.method = "PUT", .container = name, .query = "comp=acl&restype=container",
               .headers = access ? hs : NULL, .body = acl.len ? acl.body : NULL, .body_len = acl.len};
    st = write_req(p, op, &q, 200, 200, what, NULL, why, whylen);
    mk_httpc_resp_free(&acl);
    return st;
}

/* Bring a container held as h to the desired attributes a. */
static mk_prov_status converge(az *p, const mk_prov_op *op, const char *name, const held *h, json_t *a, char *why,
                               size_t whylen)
{
    mk_prov_status st = MK_PROV_OK;
    if (implements(p, "tagging") || !json_object_size(json_object_get(a, "tags")))
        st = set_meta(p, op, name, h, implements(p, "tagging") ? json_object_get(a, "tags") : NULL, why, whylen);
    const char *want = access_of(a);
    bool same = (!want && !h->access[0]) || (want && strcmp(want, h->access) == 0);
    if (st == MK_PROV_OK && implements(p, "public_access") && !same)
        st = set_access(p, op, name, want, why, whylen);
    return st;
}

/* ---- operations ---- */

static bool fault_named(const az *p, const mk_prov_op *op)
{
    return mk_prov_fault_named(p->fail_on, op->address);
}

/* fail_on is the spec's: honoured only where the connection allows it;
 * the change fails before it sends anything, so the world is as it was. */
static bool injected(const az *p, const mk_prov_op *op, char *why, size_t whylen)
{
    if (!p->cc->allow_fault_injection || !fault_named(p, op))
        return false;
    snprintf(why, whylen, "azure_blob: %s: injected failure (provider %s, fail_on)", op->address, p->alias);
    return true;
}

static json_t *computed(const az *p, const char *name)
{
    char url[1400];
    char rel[80];
    snprintf(rel, sizeof rel, "/%s", name);
    if (!mk_httpc_url(p->cc, rel, NULL, url, sizeof url))
        url[0] = 0;
    return json_pack("{s:s, s:s}", "id", name, "endpoint", url);
}

static bool is_bucket(const mk_prov_op *op, char *why, size_t whylen)
{
    if (op->type && strcmp(op->type, "bucket") == 0)
        return true;
    snprintf(why, whylen, "azure_blob: %s: the azure_blob provider serves `bucket` only, not %s", op->address,
             op->type ? op->type : "(none)");
    return false;
}

/* Refuse what judge() refuses, for a write of attrs a. */
static bool enforceable(const az *p, const mk_prov_op *op, json_t *a, char *why, size_t whylen)
{
    char list[2400] = "";
    judge(p, a, list, sizeof list);
    if (!list[0])
        return true;
    snprintf(why, whylen, "azure_blob: %s: cannot be enforced on connection %s: %s", op->address, p->cc->name, list);
    return false;
}

static mk_prov_status do_create(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    az *p = base->impl;
    char name[80];
    if (!is_bucket(op, why, whylen) || !container_of(op, name, sizeof name, why, whylen) ||
        !enforceable(p, op, op->attrs, why, whylen))
        return MK_PROV_FAILED;
    if (!op->stack_id || !op->run_id)
        return no_stack(op, why, whylen);
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    char **l = meta_lines(implements(p, "tagging") ? json_object_get(op->attrs, "tags") : NULL, op->stack_id,
                          op->run_id, op->address);
    if (!l)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    const char *acc = implements(p, "public_access") ? access_of(op->attrs) : NULL;
    size_t n = 0;
    while (l[n])
        n++;
    char accline[64];
    snprintf(accline, sizeof accline, "x-ms-blob-public-access: %s", acc ? acc : "");
    char **all = realloc(l, (n + 2) * sizeof *l);
    if (!all)
        return lines_free(l), snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    all[n] = acc ? strdup(accline) : NULL;
    all[n + 1] = NULL;
    mk_httpc_resp r;
    char sig[64] = "", what[128];
    snprintf(what, sizeof what, "create container %s", name);
    azreq q = {.method = "PUT", .container = name, .query = "restype=container", .headers = (const char *const *)all};
    mk_prov_status st = send_signed(p, op, &q, &r, sig, sizeof sig, why, whylen);
    lines_free(all);
    if (st != MK_PROV_OK)
        return mk_httpc_resp_free(&r), st;
    bool made = r.status == 201, exists = r.status == 409 && code_is(&r, "ContainerAlreadyExists");
    if (!made && !exists)
        st = refused(p, op, what, &r, sig, why, whylen);
    mk_httpc_resp_free(&r);
    if (st != MK_PROV_OK)
        return st;
    if (exists) {
        held h;
        if ((st = look(p, op, name, &h, why, whylen)) != MK_PROV_OK)
            return st;
        if (!h.there)
            return held_free(&h), snprintf(why, whylen, "azure_blob: %s: container %s was there and is gone: try "
                                           "again", op->address, name), MK_PROV_RETRYABLE;
        own o = owner(op, &h);
        if (o == OWN_NONE || o == OWN_OTHER)
            return held_free(&h), foreign(op, name, o, "already exists and this stack did not make it", why, whylen);
        if (o == OWN_EARLIER_RUN && op->adopted)
            *op->adopted = true;
        st = converge(p, op, name, &h, op->attrs, why, whylen);
        held_free(&h);
        if (st != MK_PROV_OK)
            return st;
    }
    *out = computed(p, name);
    return MK_PROV_OK;
}

/* The container in the state's form: the recorded attributes, with what
 * the container holds in place of tags and public (when the connection
 * implements them), and the computed ones. */
static json_t *as_state(const az *p, const mk_prov_op *op, const char *name, const held *h)
{
    json_t *o = json_is_object(op->attrs) && !op->import_id ? json_deep_copy(op->attrs) : json_object();
    json_t *rec = json_object_get(op->attrs, "tags");
    if (implements(p, "tagging") || op->import_id) {
        json_t *tags = json_object();
        const char *k, *rk;
        json_t *v, *rv;
        json_object_foreach(h->meta, k, v) {
            if (strncmp(k, "moksha_", 7) == 0)
                continue;
            const char *spelled = k; /* Azure's names ignore case: the recorded spelling stands */
            json_object_foreach(rec, rk, rv)
                if (strcasecmp(rk, k) == 0)
                    spelled = rk;
            json_object_set(tags, spelled, v);
        }
        json_object_set_new(o, "tags", tags);
    }
    /* "container" lets anyone list the blobs too, more than `public`
     * asks: it reads as that word, so drift shows it */
    if (implements(p, "public_access") || op->import_id)
        json_object_set_new(o, "public", strcmp(h->access, "container") == 0 ? json_string("container")
                                         : json_boolean(h->access[0] != 0));
    if (op->import_id) {
        /* every attribute, whatever the desired ones are: the plan's read
         * and the apply's must agree */
        char derived[80];
        if (!mk_prov_bucket_name(op->address, derived, sizeof derived))
            derived[0] = 0;
        json_object_set_new(o, "bucket_name", strcmp(derived, name) == 0 ? json_null() : json_string(name));
        int enc = vouched(p, "encrypted"), ver = vouched(p, "versioning"), pab = vouched(p, "public_access_block");
        json_object_set_new(o, "encrypted", json_boolean(enc != 0));
        json_object_set_new(o, "versioning", json_boolean(ver == 1));
        json_object_set_new(o, "public_access_block", pab < 0 ? json_null() : json_boolean(pab));
        json_object_set_new(o, "storage_class", json_string("standard"));
        static const char *const unset[] = {"retention", "redundancy", "public_write", "authenticated_read",
                                            "access_logging", "lifecycle_rules", "replication", "kms_key",
                                            "private_endpoint", "force_destroy", NULL};
        for (size_t i = 0; unset[i]; i++)
            json_object_set_new(o, unset[i], json_null());
    }
    json_t *c = computed(p, name);
    json_object_update(o, c);
    json_decref(c);
    return o;
}

static mk_prov_status do_read(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    az *p = base->impl;
    char name[80];
    if (!is_bucket(op, why, whylen) || !container_of(op, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    held h;
    mk_prov_status st = look(p, op, name, &h, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (h.there)
        *out = as_state(p, op, name, &h);
    held_free(&h);
    return MK_PROV_OK;
}

/* The container at op's name, this stack's (any run) — else why. */
static mk_prov_status own_container(az *p, const mk_prov_op *op, const char *name, held *h, const char *doing,
                                    char *why, size_t whylen)
{
    mk_prov_status st = look(p, op, name, h, why, whylen);
    if (st != MK_PROV_OK || !h->there)
        return st;
    own o = owner(op, h);
    if (o == OWN_NONE || o == OWN_OTHER) {
        held_free(h);
        return foreign(op, name, o, doing, why, whylen);
    }
    return MK_PROV_OK;
}

static mk_prov_status do_update(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    az *p = base->impl;
    char name[80];
    if (!is_bucket(op, why, whylen) || !container_of(op, name, sizeof name, why, whylen) ||
        !enforceable(p, op, op->attrs, why, whylen))
        return MK_PROV_FAILED;
    if (!op->stack_id)
        return no_stack(op, why, whylen);
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    held h;
    mk_prov_status st = own_container(p, op, name, &h, "is not this stack's", why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (!h.there)
        return snprintf(why, whylen, "azure_blob: %s: container %s is gone: not changed (a refresh sees it gone; "
                        "the next plan makes it again)", op->address, name), MK_PROV_FAILED;
    st = converge(p, op, name, &h, op->attrs, why, whylen);
    held_free(&h);
    if (st != MK_PROV_OK)
        return st;
    *out = computed(p, name);
    return MK_PROV_OK;
}

/* The first blob of the container (a snapshot, a version when the account
 * versions, an uncommitted one count), into first; "" when it is empty. */
static mk_prov_status first_blob(az *p, const mk_prov_op *op, const char *name, char *first, size_t n, char *why,
                                 size_t whylen)
{
    first[0] = 0;
    char what[128];
    snprintf(what, sizeof what, "list the blobs of container %s", name);
    mk_httpc_resp r;
    azreq q = {.method = "GET", .container = name,
               .query = vouched(p, "versioning") == 1
                            ? "comp=list&include=snapshots%2Cuncommittedblobs%2Cversions&maxresults=1&restype=container"
                            : "comp=list&include=snapshots%2Cuncommittedblobs&maxresults=1&restype=container"};
    mk_prov_status st = write_req(p, op, &q, 200, 200, what, &r, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    xmlDocPtr d = xml_of(&r);
    xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
    if (!root || strcmp((const char *)root->name, "EnumerationResults") != 0) {
        st = MK_PROV_FAILED;
        snprintf(why, whylen, "azure_blob: %s: %s: connection %s answered with no blob list", op->address, what,
                 p->cc->name);
    } else {
        xmlNodePtr b = child(child(root, "Blobs"), "Blob");
        if (b) {
            text_of(child(b, "Name"), first, n);
            if (!first[0])
                snprintf(first, n, "(a blob)");
        }
    }
    xmlFreeDoc(d);
    mk_httpc_resp_free(&r);
    return st;
}

static mk_prov_status refuse_full(const mk_prov_op *op, const char *name, const char *first, char *why, size_t whylen)
{
    snprintf(why, whylen, "azure_blob: %s: container %s holds objects (`%.120s`…): not deleted, nothing is lost; to "
             "delete them with it, set force_destroy = true", op->address, name, first);
    return MK_PROV_FAILED;
}

/* note [az delete]: Delete Container takes every blob with it, and the
 * Blob API has no "delete if empty". The delete is bound to the container
 * that was looked at: a lease (Lease Container, 60 s) is taken first, the
 * owner tag and (without force_destroy) the emptiness are looked at under
 * it, and Delete Container carries its id. Nobody else can delete the
 * container meanwhile, and a container deleted and made again by someone
 * else in between has no such lease: the delete is refused
 * (LeaseNotPresentWithContainerOperation, or the lease taken by them) and
 * theirs is left alone. A lease does not stop blob writes: a blob written
 * between the emptiness check and the delete is deleted with the
 * container. */

/* Lease Container: action "acquire" (id proposed, 60 s) or "release". On
 * acquire *gone is set when there is no container. */
static mk_prov_status lease(az *p, const mk_prov_op *op, const char *name, const char *action, const char *id,
                            bool *gone, char *why, size_t whylen)
{
    char act[64], lid[80], what[128];
    bool acquire = strcmp(action, "acquire") == 0;
    snprintf(act, sizeof act, "x-ms-lease-action: %s", action);
    snprintf(lid, sizeof lid, "%s: %s", acquire ? "x-ms-proposed-lease-id" : "x-ms-lease-id", id);
    const char *hs[] = {act, lid, acquire ? "x-ms-lease-duration: 60" : NULL, NULL};
    snprintf(what, sizeof what, "%s a lease on container %s (to delete it)", acquire ? "take" : "release", name);
    mk_httpc_resp r;
    char sig[64] = "";
    azreq q = {.method = "PUT", .container = name, .query = "comp=lease&restype=container", .headers = hs};
    mk_prov_status st = send_signed(p, op, &q, &r, sig, sizeof sig, why, whylen);
    if (gone)
        *gone = st == MK_PROV_OK && r.status == 404 && code_is(&r, "ContainerNotFound");
    if (st == MK_PROV_OK && r.status != (acquire ? 201 : 200) && !(gone && *gone))
        st = refused(p, op, what, &r, sig, why, whylen);
    mk_httpc_resp_free(&r);
    return st;
}

/* st and why as they are, the lease released as well as it can be (it
 * lapses by itself after 60 s) */
static mk_prov_status unleased(az *p, const mk_prov_op *op, const char *name, const char *id, mk_prov_status st)
{
    char w[600];
    (void)lease(p, op, name, "release", id, NULL, w, sizeof w);
    return st;
}

static mk_prov_status do_del(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    az *p = base->impl;
    char name[80], first[200];
    if (!is_bucket(op, why, whylen) || !container_of(op, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    if (!op->stack_id)
        return no_stack(op, why, whylen);
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    char id[37];
    mk_rand_uuid(id);
    bool gone = false;
    mk_prov_status st = lease(p, op, name, "acquire", id, &gone, why, whylen);
    if (st != MK_PROV_OK || gone)
        return st;
    held h;
    st = own_container(p, op, name, &h, "is not this stack's", why, whylen);
    if (st != MK_PROV_OK || !h.there)
        return h.there || st != MK_PROV_OK ? unleased(p, op, name, id, st) : st;
    held_free(&h);
    if (!json_is_true(json_object_get(op->attrs, "force_destroy"))) {
        if ((st = first_blob(p, op, name, first, sizeof first, why, whylen)) != MK_PROV_OK)
            return unleased(p, op, name, id, st);
        if (first[0])
            return unleased(p, op, name, id, refuse_full(op, name, first, why, whylen));
    }
    char what[128], lid[80];
    snprintf(what, sizeof what, "delete container %s", name);
    snprintf(lid, sizeof lid, "x-ms-lease-id: %s", id);
    const char *hs[] = {lid, NULL};
    mk_httpc_resp r;
    char sig[64] = "";
    azreq q = {.method = "DELETE", .container = name, .query = "restype=container", .headers = hs};
    st = send_signed(p, op, &q, &r, sig, sizeof sig, why, whylen);
    if (st == MK_PROV_OK && r.status != 202 && r.status != 200 && !(r.status == 404 && code_is(&r, "ContainerNotFound")))
        st = refused(p, op, what, &r, sig, why, whylen);
    mk_httpc_resp_free(&r);
    return st == MK_PROV_OK ? st : unleased(p, op, name, id, st);
}

static mk_prov_status do_import(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    az *p = base->impl;
    char name[80];
    if (!is_bucket(op, why, whylen) || !container_of(op, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    if (!op->stack_id || !op->run_id)
        return no_stack(op, why, whylen);
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    held h;
    mk_prov_status st = look(p, op, name, &h, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (!h.there)
        return snprintf(why, whylen, "azure_blob: %s: connection %s has no container %s to import", op->address,
                        p->cc->name, name), MK_PROV_FAILED;
    own o = owner(op, &h);
    if (o == OWN_OTHER && json_string_value(json_object_get(h.meta, "moksha_stack")) &&
        strcmp(json_string_value(json_object_get(h.meta, "moksha_stack")), op->stack_id) != 0) {
        held_free(&h);
        return snprintf(why, whylen, "azure_blob: %s: container %s is another stack's (its owner tag says so): not "
                        "imported", op->address, name), MK_PROV_FAILED;
    }
    /* this stack's tag, the container's other metadata kept as it is */
    json_t *tags = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(h.meta, k, v)
        if (strncmp(k, "moksha_", 7) != 0)
            json_object_set(tags, k, v);
    char **l = meta_lines(tags, op->stack_id, op->run_id, op->address);
    json_decref(tags);
    held_free(&h);
    if (!l)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    char what[128];
    snprintf(what, sizeof what, "tag container %s", name);
    azreq q = {.method = "PUT", .container = name, .query = "comp=metadata&restype=container",
               .headers = (const char *const *)l};
    st = write_req(p, op, &q, 200, 200, what, NULL, why, whylen);
    lines_free(l);
    if (st != MK_PROV_OK)
        return st;
    *out = computed(p, name);
    return MK_PROV_OK;
}

/* ---- refused before the first step ---- */

/* The account reached and the key accepted, once per provider: a signed
 * List Containers of one. A wrong key is refused here, before anything
 * changes. */
static mk_prov_status reach(az *p, const mk_prov_op *op, char *why, size_t whylen)
{
    pthread_mutex_lock(&p->mu);
    bool done = p->reached;
    pthread_mutex_unlock(&p->mu);
    if (done)
        return MK_PROV_OK;
    mk_httpc_resp r;
    char sig[64] = "";
    azreq q = {.method = "GET", .query = "comp=list&maxresults=1"};
    mk_prov_status st = send_signed(p, op, &q, &r, sig, sizeof sig, why, whylen);
    if (st == MK_PROV_OK && r.status != 200)
        st = refused(p, op, "reach the storage account", &r, sig, why, whylen);
    mk_httpc_resp_free(&r);
    if (st == MK_PROV_OK) {
        pthread_mutex_lock(&p->mu);
        p->reached = true;
        pthread_mutex_unlock(&p->mu);
    }
    return st;
}

static mk_prov_status do_check(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    az *p = base->impl;
    char name[80], first[200];
    if (!is_bucket(op, why, whylen))
        return MK_PROV_FAILED;
    if (fault_named(p, op) && !p->cc->allow_fault_injection)
        return snprintf(why, whylen, "azure_blob: %s: provider %s asks for injected failures (fail_on), which "
                        "connection %s does not allow: set \"allow_fault_injection\": true on it in the executor's "
                        "configuration (docs/providers.md, \"Rules for every provider\")", op->address, p->alias,
                        p->cc->name), MK_PROV_FAILED;
    mk_prov_status st = reach(p, op, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    const char *act = op->action ? op->action : "";
    if (strcmp(act, "move") == 0)
        return snprintf(why, whylen, "azure_blob: %s: a container is named by its bucket_name, not its address: it "
                        "cannot be moved (`moved` blocks do not apply to it)", op->address), MK_PROV_FAILED;
    bool writes = strcmp(act, "create") == 0 || strcmp(act, "update") == 0;
    if (writes && (!container_of(op, name, sizeof name, why, whylen) || !enforceable(p, op, op->attrs, why, whylen)))
        return MK_PROV_FAILED;
    if (writes && op->stack_id) { /* a container in the way, or not this stack's: refused now, not half-way */
        held h;
        if ((st = look(p, op, name, &h, why, whylen)) != MK_PROV_OK)
            return st;
        own o = h.there ? owner(op, &h) : OWN_THIS_RUN;
        held_free(&h);
        if (o == OWN_NONE || o == OWN_OTHER)
            return foreign(op, name, o, strcmp(act, "create") == 0 ? "already exists and this stack did not make it"
                           : "is not this stack's", why, whylen);
    }
    /* a delete of a container not this stack's, or of one holding blobs
     * without force_destroy: refused now, as the step would refuse it */
    if (strcmp(act, "delete") == 0 && op->stack_id && container_of(op, name, sizeof name, why, whylen)) {
        held h;
        if ((st = look(p, op, name, &h, why, whylen)) != MK_PROV_OK)
            return st;
        own o = h.there ? owner(op, &h) : OWN_THIS_RUN;
        held_free(&h);
        if (h.there && (o == OWN_NONE || o == OWN_OTHER))
            return foreign(op, name, o, "is not this stack's", why, whylen);
        if (h.there && !json_is_true(json_object_get(op->attrs, "force_destroy"))) {
            if ((st = first_blob(p, op, name, first, sizeof first, why, whylen)) != MK_PROV_OK)
                return st;
            if (first[0])
                return refuse_full(op, name, first, why, whylen);
        }
    }
    return MK_PROV_OK;
}

/* A deleted container cannot come back with its blobs: no recreate, and
 * its delete runs last (docs/executor.md, "Irreversible steps last"). */
static unsigned caps_of(mk_prov *p, const char *type)
{
    (void)p, (void)type;
    return 0;
}

static void az_free(mk_prov *base)
{
    az *p = base->impl;
    mk_pgcred_free(p->cred);
    json_decref(p->fail_on);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

mk_prov *mk_prov_azblob_new(json_t *settings, const mk_config *cfg, const char *alias, char *why, size_t whylen)
{
    alias = alias ? alias : "azure_blob";
    const char *name = json_string_value(json_object_get(settings, "connection"));
    if (!name)
        return snprintf(why, whylen, "provider %s: no connection named (`provider azure_blob %s { connection = "
                        "\"NAME\" }`)", alias, alias), NULL;
    const mk_config_conn *cc = mk_config_conn_find(cfg, name);
    if (!cc)
        return snprintf(why, whylen, "provider %s: the executor's configuration (%s) has no connection `%s`: a spec "
                        "names a connection, the executor says where it goes (docs/providers.md, \"Connections\")",
                        alias, cfg && cfg->path[0] ? cfg->path : "none: MOKSHA_EXEC_CONFIG", name), NULL;
    if (strcmp(cc->kind, "azure_blob") != 0)
        return snprintf(why, whylen, "provider %s: connection `%s` is a %s connection, not azure_blob", alias, name,
                        cc->kind), NULL;
    az *p = calloc(1, sizeof *p);
    if (!p)
        return snprintf(why, whylen, "out of memory"), NULL;
    if (cc->password_command && !(p->cred = mk_pgcred_new(cc, why, whylen))) {
        free(p);
        return NULL;
    }
    const char *env = json_string_value(json_object_get(cc->credentials, "account_key_env"));
    snprintf(p->key_env, sizeof p->key_env, "%s", env ? env : "AZURE_STORAGE_KEY");
    p->cc = cc;
    snprintf(p->alias, sizeof p->alias, "%s", alias);
    json_t *fo = json_object_get(settings, "fail_on");
    p->fail_on = json_is_array(fo) ? json_incref(fo) : json_array();
    pthread_mutex_init(&p->mu, NULL);
    xmlInitParser();
    p->base = (mk_prov){.kind = "azure_blob", .caps = 0, .create = do_create, .read = do_read, .update = do_update,
                        .del = do_del, .import = do_import, .move = NULL, .check = do_check, .caps_of = caps_of,
                        .free = az_free, .impl = p};
    return &p->base;
}
