/* s3 — buckets on an S3-compatible server (AWS, MinIO, Ceph), every
 * request through runtime/httpc.c and signed by libcurl's SigV4
 * (docs/providers.md, "The s3 provider"). What the server implements is
 * the connection's word (`implements`, `vouches`): an API it does not list
 * is never called, and an attribute needing one is refused by the check
 * (note [bucket enforce], bucket.c). Answers are XML, read with libxml2
 * (no network, no entities, no DTD). */
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/providers/fault.h"
#include "runtime/providers/s3_req.h"

static const char *const CRED_KEYS[] = {"access_key_id", "secret_access_key", "session_token", NULL};

/* ---- the bucket's name, URL and owner ---- */

static bool name_of(const mk_prov_op *op, json_t *attrs, char *buf, size_t n, char *why, size_t whylen)
{
    const char *id = op->import_id ? op->import_id : json_string_value(json_object_get(attrs, "id"));
    if (id && strlen(id) < n)
        snprintf(buf, n, "%s", id);
    else if (!mk_prov_bucket_name_of(attrs, op->address, buf, n))
        return snprintf(why, whylen, "s3: %s: no bucket name", op->address), false;
    if (!mk_prov_bucket_name_ok(buf))
        return snprintf(why, whylen, "s3: %s: `%.80s` is not a bucket name (3 to 63 of a-z, 0-9 and single hyphens)",
                        op->address, buf),
               false;
    return true;
}

static json_t *computed(s3p *p, const char *name)
{
    char path[80], url[1200];
    snprintf(path, sizeof path, "/%s", name);
    return json_pack("{s:s, s:s}", "id", name, "endpoint", mk_httpc_url(p->cc, path, NULL, url, sizeof url) ? url : "");
}

/* Does the bucket exist? *yes; a failure is never "no". */
static mk_prov_status exists(s3p *p, const mk_prov_op *op, const char *name, bool *yes, char *why, size_t whylen)
{
    long status = 0;
    call c = {.method = "HEAD", .bucket = name};
    mk_prov_status st = mk_prov_s3_req_simple(p, op, &c, "HeadBucket", mk_prov_s3_req_not_found, &status, why, whylen);
    *yes = st == MK_PROV_OK && status != 404;
    return st;
}

typedef struct owner {
    char stack[128], run[128], address[512]; /* address: the marker's ("": not said) */
    bool tagged;
    json_t *tags; /* tagging: the bucket's other tags (owned), else NULL */
} owner;

static mk_prov_status get_tags(s3p *p, const mk_prov_op *op, const char *name, owner *o, char *why, size_t whylen)
{
    static const long ok[] = {404, 0};
    mk_httpc_resp r;
    call c = {.method = "GET", .bucket = name, .query = "tagging="};
    mk_prov_status st = mk_prov_s3_req_call(p, op, &c, "GetBucketTagging", ok, &r, why, whylen);
    o->tags = json_object();
    if (st == MK_PROV_OK && r.status != 404) {
        xmlDoc *d = mk_prov_s3_req_xml_read(&r);
        xmlNode *set = d ? mk_prov_s3_req_xml_find(xmlDocGetRootElement(d), "TagSet") : NULL;
        for (xmlNode *t = set ? set->children : NULL; t; t = t->next) {
            char k[256], v[512];
            if (t->type != XML_ELEMENT_NODE || !*mk_prov_s3_req_xml_child(t, "Key", k, sizeof k))
                continue;
            mk_prov_s3_req_xml_child(t, "Value", v, sizeof v);
            if (strcmp(k, OWNER_STACK) == 0)
                snprintf(o->stack, sizeof o->stack, "%.127s", v), o->tagged = true;
            else if (strcmp(k, OWNER_RUN) == 0)
                snprintf(o->run, sizeof o->run, "%.127s", v);
            else if (strcmp(k, OWNER_ADDRESS) == 0)
                snprintf(o->address, sizeof o->address, "%.511s", v);
            else
                json_object_set_new(o->tags, k, json_string(v));
        }
        xmlFreeDoc(d);
    }
    mk_httpc_resp_free(&r);
    return st;
}

/* note [s3 owner]: who made the bucket — its owner tags (moksha-stack,
 * moksha-run) when the server implements tagging, else the marker object
 * .moksha-owner, {"stack", "run", "address"}. */
static mk_prov_status get_owner(s3p *p, const mk_prov_op *op, const char *name, owner *o, char *why, size_t whylen)
{
    memset(o, 0, sizeof *o);
    if (API(p, MK_BUCKET_API_TAGGING))
        return get_tags(p, op, name, o, why, whylen);
    mk_httpc_resp r;
    call c = {.method = "GET", .bucket = name, .key = MARKER};
    mk_prov_status st = mk_prov_s3_req_call(p, op, &c, "GetObject " MARKER, mk_prov_s3_req_not_found, &r, why, whylen);
    if (st == MK_PROV_OK && r.status != 404) {
        json_t *m = json_loadb(r.body, r.len, 0, NULL);
        const char *s = json_string_value(json_object_get(m, "stack")),
                   *run = json_string_value(json_object_get(m, "run"));
        const char *ad = json_string_value(json_object_get(m, "address"));
        if (s)
            snprintf(o->stack, sizeof o->stack, "%.127s", s), o->tagged = true;
        if (run)
            snprintf(o->run, sizeof o->run, "%.127s", run);
        if (ad)
            snprintf(o->address, sizeof o->address, "%.511s", ad);
        json_decref(m);
    }
    mk_httpc_resp_free(&r);
    return st;
}

/* The address as an owner tag's value: itself when a tag value may hold
 * it (up to 256 of letters, digits, space and + - = . _ : / @), else
 * "sha256:" and its digest in hex. */
static void address_tag(const char *address, char *buf, size_t n)
{
    size_t len = strlen(address);
    bool plain = len <= 256 && len < n;
    for (const char *q = address; plain && *q; q++)
        plain = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                strchr(" +-=._:/@", *q) != NULL;
    if (plain) {
        snprintf(buf, n, "%s", address);
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mn = 0;
    EVP_Digest(address, len, md, &mn, EVP_sha256(), NULL);
    int w = snprintf(buf, n, "sha256:");
    for (unsigned int i = 0; i < mn && (size_t)w + 3 <= n; i++)
        w += snprintf(buf + w, n - (size_t)w, "%02x", md[i]);
}

/* Is the owner's address (tag or marker) this one? */
static bool same_address(const owner *o, const char *address)
{
    char t[300];
    address_tag(address, t, sizeof t);
    return strcmp(o->address, address) == 0 || strcmp(o->address, t) == 0;
}

static void tag(xmlNode *set, const char *k, const char *v)
{
    xmlNode *t = xmlNewChild(set, NULL, BAD_CAST "Tag", NULL);
    xmlNewTextChild(t, NULL, BAD_CAST "Key", BAD_CAST k);
    xmlNewTextChild(t, NULL, BAD_CAST "Value", BAD_CAST v);
}

/* Write the owner (and, with tagging, the spec's tags beside it). */
static mk_prov_status put_owner(s3p *p, const mk_prov_op *op, const char *name, json_t *tags, char *why, size_t whylen)
{
    const char *stack = op->stack_id ? op->stack_id : "", *run = op->run_id ? op->run_id : "";
    if (API(p, MK_BUCKET_API_TAGGING)) {
        xmlDoc *d;
        xmlNode *set = xmlNewChild(mk_prov_s3_req_xml_root(&d, "Tagging"), NULL, BAD_CAST "TagSet", NULL);
        const char *k;
        json_t *v;
        json_object_foreach(tags, k, v) /* the owner's keys are moksha's alone */
            if (json_is_string(v) && strcmp(k, OWNER_STACK) != 0 && strcmp(k, OWNER_RUN) != 0 &&
                strcmp(k, OWNER_ADDRESS) != 0)
                tag(set, k, json_string_value(v));
        if (*stack)
            tag(set, OWNER_STACK, stack);
        if (*run)
            tag(set, OWNER_RUN, run);
        char at[300];
        address_tag(op->address, at, sizeof at);
        if (*stack)
            tag(set, OWNER_ADDRESS, at);
        size_t len;
        char *body = mk_prov_s3_req_xml_dump(d, &len);
        if (!body)
            return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
        call c = {.method = "PUT", .bucket = name, .query = "tagging=", .body = body, .body_len = len};
        mk_prov_status st = mk_prov_s3_req_simple(p, op, &c, "PutBucketTagging", NULL, NULL, why, whylen);
        free(body);
        return st;
    }
    json_t *m = json_pack("{s:s, s:s, s:s}", "stack", stack, "run", run, "address", op->address);
    char *body = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    if (!body)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    call c = {.method = "PUT",
              .bucket = name,
              .key = MARKER,
              .body = body,
              .body_len = strlen(body),
              .header = "Content-Type: application/json"};
    mk_prov_status st = mk_prov_s3_req_simple(p, op, &c, "PutObject " MARKER, NULL, NULL, why, whylen);
    free(body);
    return st;
}

/* ---- what a bucket holds ---- */

/* The first page (up to max) of keys (ListObjects) or of versions
 * (ListObjectVersions, delete markers too), the marker object left out:
 * each found goes to fn (NULL: just counted), *first the first one. A
 * delete of each page then a list again reaches them all, with no token
 * to carry. */
typedef mk_prov_status (*visit_fn)(s3p *p, const mk_prov_op *op, const char *name, const char *key, const char *version,
                                   char *why, size_t whylen);

static mk_prov_status list_page(s3p *p, const mk_prov_op *op, const char *name, bool versions, int max, size_t *found,
                                char *first, size_t fl, visit_fn fn, char *why, size_t whylen)
{
    char query[64];
    /* note [s3 query]: libcurl 7.88 signs the query as written, so each is
     * written in SigV4's canonical form: keys sorted, every key with `=` */
    snprintf(query, sizeof query, versions ? "max-keys=%d&versions=" : "max-keys=%d", max);
    mk_httpc_resp r;
    call c = {.method = "GET", .bucket = name, .query = query};
    mk_prov_status st =
        mk_prov_s3_req_call(p, op, &c, versions ? "ListObjectVersions" : "ListObjects", NULL, &r, why, whylen);
    xmlDoc *d = st == MK_PROV_OK ? mk_prov_s3_req_xml_read(&r) : NULL;
    xmlNode *root = d ? xmlDocGetRootElement(d) : NULL;
    if (st == MK_PROV_OK && !root)
        st = MK_PROV_FAILED, snprintf(why, whylen, "s3: %s: the server's listing of %s is not XML", op->address, name);
    for (xmlNode *n = root ? root->children : NULL; n && st == MK_PROV_OK; n = n->next) {
        char key[4100], ver[1100];
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *nm = (const char *)n->name;
        bool item =
            versions ? strcmp(nm, "Version") == 0 || strcmp(nm, "DeleteMarker") == 0 : strcmp(nm, "Contents") == 0;
        if (!item || !*mk_prov_s3_req_xml_child(n, "Key", key, sizeof key))
            continue;
        mk_prov_s3_req_xml_child(n, "VersionId", ver, sizeof ver);
        if (strlen(key) >= sizeof key - 1 || strlen(ver) >= sizeof ver - 1) {
            /* never a prefix of it: that would be another object */
            st = MK_PROV_FAILED;
            snprintf(why, whylen, "s3: %s: the server's listing of %s names a key or version longer than any S3 "
                     "allows: refused", op->address, name);
            break;
        }
        if (strcmp(key, MARKER) == 0 && (!versions || !fn))
            continue; /* the marker's own old versions go with force_destroy */
        if (!*found && first)
            snprintf(first, fl, "%.*s", (int)(fl - 1), key);
        (*found)++;
        if (fn)
            st = fn(p, op, name, key, versions ? ver : NULL, why, whylen);
    }
    xmlFreeDoc(d);
    mk_httpc_resp_free(&r);
    return st;
}

/* How many objects (beyond the marker) the bucket holds: 0 or more, up to
 * a page; *first one of them. Every version counts when the server
 * versions. */
static mk_prov_status holds(s3p *p, const mk_prov_op *op, const char *name, size_t *n, char *first, size_t fl,
                            char *why, size_t whylen)
{
    *n = 0;
    mk_prov_status st = list_page(p, op, name, false, 3, n, first, fl, NULL, why, whylen);
    if (st == MK_PROV_OK && !*n && API(p, MK_BUCKET_API_VERSIONING))
        st = list_page(p, op, name, true, 3, n, first, fl, NULL, why, whylen);
    return st;
}

static mk_prov_status delete_one(s3p *p, const mk_prov_op *op, const char *name, const char *key, const char *version,
                                 char *why, size_t whylen)
{
    char q[3400] = "", *v = version && *version ? mk_httpc_escape(version, false) : NULL;
    bool fits = !v || snprintf(q, sizeof q, "versionId=%s", v) < (int)sizeof q;
    free(v);
    if (!fits)
        return snprintf(why, whylen, "s3: %s: a version id too long to ask for: refused", op->address),
               MK_PROV_FAILED;
    call c = {.method = "DELETE", .bucket = name, .key = key, .query = q};
    return mk_prov_s3_req_simple(p, op, &c, "DeleteObject", mk_prov_s3_req_not_found, NULL, why, whylen);
}

/* force_destroy: every object and every version deleted, a page at a
 * time (each page listed again from the start: what is deleted is gone) */
static mk_prov_status empty(s3p *p, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    for (int pass = 0; pass < 2; pass++) {
        bool versions = pass == 1;
        if (versions && !API(p, MK_BUCKET_API_VERSIONING))
            break;
        for (size_t n = 1; n > 0;) {
            n = 0;
            mk_prov_status st = list_page(p, op, name, versions, 1000, &n, NULL, 0, delete_one, why, whylen);
            if (st != MK_PROV_OK)
                return st;
        }
    }
    return MK_PROV_OK;
}

/* ---- the bucket's settings ---- */

static mk_prov_status put_xml(s3p *p, const mk_prov_op *op, const char *name, const char *query, xmlDoc *d,
                              const char *what, char *why, size_t whylen)
{
    size_t len;
    char *body = mk_prov_s3_req_xml_dump(d, &len);
    if (!body)
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    call c = {.method = "PUT", .bucket = name, .query = query, .body = body, .body_len = len};
    mk_prov_status st = mk_prov_s3_req_simple(p, op, &c, what, NULL, NULL, why, whylen);
    free(body);
    return st;
}

static mk_prov_status set_encryption(s3p *p, const mk_prov_op *op, const char *name, json_t *a, char *why,
                                     size_t whylen)
{
    if (!API(p, MK_BUCKET_API_ENCRYPTION))
        return MK_PROV_OK;
    if (!json_is_true(json_object_get(a, "encrypted"))) {
        call c = {.method = "DELETE", .bucket = name, .query = "encryption="};
        return mk_prov_s3_req_simple(p, op, &c, "DeleteBucketEncryption", mk_prov_s3_req_not_found, NULL, why, whylen);
    }
    const char *kms = json_string_value(json_object_get(a, "kms_key"));
    xmlDoc *d;
    xmlNode *rule =
        xmlNewChild(mk_prov_s3_req_xml_root(&d, "ServerSideEncryptionConfiguration"), NULL, BAD_CAST "Rule", NULL);
    xmlNode *def = xmlNewChild(rule, NULL, BAD_CAST "ApplyServerSideEncryptionByDefault", NULL);
    xmlNewTextChild(def, NULL, BAD_CAST "SSEAlgorithm", BAD_CAST(kms ? "aws:kms" : "AES256"));
    if (kms)
        xmlNewTextChild(def, NULL, BAD_CAST "KMSMasterKeyID", BAD_CAST kms);
    return put_xml(p, op, name, "encryption=", d, "PutBucketEncryption", why, whylen);
}

static mk_prov_status get_versioning(s3p *p, const mk_prov_op *op, const char *name, int *on, char *why, size_t whylen)
{
    mk_httpc_resp r;
    call c = {.method = "GET", .bucket = name, .query = "versioning="};
    mk_prov_status st = mk_prov_s3_req_call(p, op, &c, "GetBucketVersioning", NULL, &r, why, whylen);
    xmlDoc *d = st == MK_PROV_OK ? mk_prov_s3_req_xml_read(&r) : NULL;
    xmlNode *root = d ? xmlDocGetRootElement(d) : NULL;
    char s[32];
    if (st == MK_PROV_OK && (!root || strcmp((const char *)root->name, "VersioningConfiguration") != 0))
        st = MK_PROV_FAILED, snprintf(why, whylen,
                                      "s3: %s: GetBucketVersioning: the server answered with no "
                                      "VersioningConfiguration (connection %s lists versioning in `implements`: does "
                                      "the server implement it?)",
                                      op->address, p->cc->name);
    *on = st == MK_PROV_OK && strcmp(mk_prov_s3_req_xml_child(root, "Status", s, sizeof s), "Enabled") == 0;
    xmlFreeDoc(d);
    mk_httpc_resp_free(&r);
    return st;
}

static mk_prov_status set_versioning(s3p *p, const mk_prov_op *op, const char *name, json_t *a, char *why,
                                     size_t whylen)
{
    if (!API(p, MK_BUCKET_API_VERSIONING))
        return MK_PROV_OK;
    bool want = json_is_true(json_object_get(a, "versioning"));
    int on = 0;
    mk_prov_status st = get_versioning(p, op, name, &on, why, whylen);
    if (st != MK_PROV_OK || on == want)
        return st; /* a bucket never versioned stays so: Suspended only undoes Enabled */
    xmlDoc *d;
    xmlNewTextChild(mk_prov_s3_req_xml_root(&d, "VersioningConfiguration"), NULL, BAD_CAST "Status",
                    BAD_CAST(want ? "Enabled" : "Suspended"));
    return put_xml(p, op, name, "versioning=", d, "PutBucketVersioning", why, whylen);
}

static const char *const PAB_KEYS[] = {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                       "RestrictPublicBuckets"};

static mk_prov_status set_pab(s3p *p, const mk_prov_op *op, const char *name, json_t *a, char *why, size_t whylen)
{
    json_t *v = json_object_get(a, "public_access_block");
    if (!API(p, MK_BUCKET_API_PUBLIC_ACCESS_BLOCK) || !json_is_boolean(v))
        return MK_PROV_OK;
    if (!json_is_true(v)) {
        call c = {.method = "DELETE", .bucket = name, .query = "publicAccessBlock="};
        return mk_prov_s3_req_simple(p, op, &c, "DeletePublicAccessBlock", mk_prov_s3_req_not_found, NULL, why, whylen);
    }
    xmlDoc *d;
    xmlNode *r = mk_prov_s3_req_xml_root(&d, "PublicAccessBlockConfiguration");
    for (size_t i = 0; i < 4; i++)
        xmlNewTextChild(r, NULL, BAD_CAST PAB_KEYS[i], BAD_CAST "true");
    return put_xml(p, op, name, "publicAccessBlock=", d, "PutPublicAccessBlock", why, whylen);
}

/* public = true: a policy letting anyone read the objects (or, with no
 * policy API, the public-read ACL); false: no policy, a private ACL. The
 * bucket's policy is moksha's to write. */
static mk_prov_status set_public(s3p *p, const mk_prov_op *op, const char *name, json_t *a, char *why, size_t whylen)
{
    bool want = json_is_true(json_object_get(a, "public"));
    if (API(p, MK_BUCKET_API_POLICY)) {
        if (!want) {
            call c = {.method = "DELETE", .bucket = name, .query = "policy="};
            return mk_prov_s3_req_simple(p, op, &c, "DeleteBucketPolicy", mk_prov_s3_req_not_found, NULL, why, whylen);
        }
        char res[120];
        snprintf(res, sizeof res, "arn:aws:s3:::%s/*", name);
        json_t *pol = json_pack("{s:s, s:[{s:s, s:s, s:s, s:s, s:s}]}", "Version", "2012-10-17", "Statement", "Sid",
                                "MokshaPublicRead", "Effect", "Allow", "Principal", "*", "Action", "s3:GetObject",
                                "Resource", res);
        char *body = pol ? json_dumps(pol, JSON_COMPACT) : NULL;
        json_decref(pol);
        if (!body)
            return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
        call c = {.method = "PUT",
                  .bucket = name,
                  .query = "policy=",
                  .body = body,
                  .body_len = strlen(body),
                  .header = "Content-Type: application/json"};
        mk_prov_status st = mk_prov_s3_req_simple(p, op, &c, "PutBucketPolicy", NULL, NULL, why, whylen);
        free(body);
        return st;
    }
    if (API(p, MK_BUCKET_API_PUBLIC_ACCESS)) {
        call c = {.method = "PUT",
                  .bucket = name,
                  .query = "acl=",
                  .header = want ? "x-amz-acl: public-read" : "x-amz-acl: private"};
        return mk_prov_s3_req_simple(p, op, &c, "PutBucketAcl", NULL, NULL, why, whylen);
    }
    return MK_PROV_OK;
}

/* Every setting the attributes say, each only where the server has its API. */
static mk_prov_status converge(s3p *p, const mk_prov_op *op, const char *name, json_t *a, char *why, size_t whylen)
{
    mk_prov_status st = put_owner(p, op, name, json_object_get(a, "tags"), why, whylen);
    if (st == MK_PROV_OK)
        st = set_encryption(p, op, name, a, why, whylen);
    if (st == MK_PROV_OK)
        st = set_versioning(p, op, name, a, why, whylen);
    if (st == MK_PROV_OK)
        st = set_pab(p, op, name, a, why, whylen);
    if (st == MK_PROV_OK)
        st = set_public(p, op, name, a, why, whylen);
    return st;
}

/* ---- reading the settings back ---- */

static mk_prov_status get_optional(s3p *p, const mk_prov_op *op, const char *name, const char *query, const char *what,
                                   mk_httpc_resp *r, bool *there, char *why, size_t whylen)
{
    mk_prov_status st = mk_prov_s3_req_call(p, op, &(call){.method = "GET", .bucket = name, .query = query}, what,
                                            mk_prov_s3_req_not_found, r, why, whylen);
    *there = st == MK_PROV_OK && r->status != 404;
    return st;
}

static mk_prov_status see_encryption(s3p *p, const mk_prov_op *op, const char *name, mk_prov_bucket_seen *s, char *kms,
                                     size_t kl, char *why, size_t whylen)
{
    mk_httpc_resp r;
    bool there;
    mk_prov_status st = get_optional(p, op, name, "encryption=", "GetBucketEncryption", &r, &there, why, whylen);
    s->encrypted = st == MK_PROV_OK ? there : -1;
    if (there) {
        xmlDoc *d = mk_prov_s3_req_xml_read(&r);
        xmlNode *def =
            d ? mk_prov_s3_req_xml_find(xmlDocGetRootElement(d), "ApplyServerSideEncryptionByDefault") : NULL;
        char alg[32];
        if (strcmp(mk_prov_s3_req_xml_child(def, "SSEAlgorithm", alg, sizeof alg), "aws:kms") == 0 &&
            *mk_prov_s3_req_xml_child(def, "KMSMasterKeyID", kms, kl))
            s->kms_key = kms;
        xmlFreeDoc(d);
    }
    mk_httpc_resp_free(&r);
    return st;
}

static mk_prov_status see_pab(s3p *p, const mk_prov_op *op, const char *name, mk_prov_bucket_seen *s, char *why,
                              size_t whylen)
{
    mk_httpc_resp r;
    bool there;
    mk_prov_status st =
        get_optional(p, op, name, "publicAccessBlock=", "GetPublicAccessBlock", &r, &there, why, whylen);
    s->public_access_block = 0;
    if (there) {
        xmlDoc *d = mk_prov_s3_req_xml_read(&r);
        xmlNode *root = d ? xmlDocGetRootElement(d) : NULL;
        char v[16];
        s->public_access_block = root != NULL;
        for (size_t i = 0; i < 4 && root; i++)
            if (strcmp(mk_prov_s3_req_xml_child(root, PAB_KEYS[i], v, sizeof v), "true") != 0)
                s->public_access_block = 0;
        xmlFreeDoc(d);
    }
    mk_httpc_resp_free(&r);
    return st;
}

/* Is a statement "anyone may read": Allow, Principal "*" (or {"AWS": "*"}),
 * s3:GetObject (or s3:*, *)? */
static bool public_statement(json_t *stmt)
{
    json_t *pr = json_object_get(stmt, "Principal"), *ac = json_object_get(stmt, "Action");
    const char *e = json_string_value(json_object_get(stmt, "Effect"));
    const char *who = json_is_string(pr) ? json_string_value(pr) : json_string_value(json_object_get(pr, "AWS"));
    if (!e || strcmp(e, "Allow") != 0 || !who || strcmp(who, "*") != 0 || json_object_get(stmt, "Condition"))
        return false;
    json_t *acts = json_is_array(ac) ? ac : json_pack("[O]", ac);
    bool yes = false;
    size_t i;
    json_t *v;
    json_array_foreach(acts, i, v)
    {
        const char *a = json_string_value(v);
        yes |= a && (strcmp(a, "s3:GetObject") == 0 || strcmp(a, "s3:*") == 0 || strcmp(a, "*") == 0);
    }
    if (acts != ac)
        json_decref(acts);
    return yes;
}

static mk_prov_status see_public(s3p *p, const mk_prov_op *op, const char *name, mk_prov_bucket_seen *s, char *why,
                                 size_t whylen)
{
    mk_httpc_resp r;
    bool there;
    mk_prov_status st;
    s->public_read = 0;
    if (API(p, MK_BUCKET_API_POLICY)) {
        st = get_optional(p, op, name, "policy=", "GetBucketPolicy", &r, &there, why, whylen);
        json_t *pol = there ? json_loadb(r.body, r.len, 0, NULL) : NULL, *stmts = json_object_get(pol, "Statement");
        size_t i;
        json_t *v;
        json_array_foreach(stmts, i, v) s->public_read |= public_statement(v);
        json_decref(pol);
    } else {
        st = get_optional(p, op, name, "acl=", "GetBucketAcl", &r, &there, why, whylen);
        xmlDoc *d = there ? mk_prov_s3_req_xml_read(&r) : NULL;
        xmlNode *list = d ? mk_prov_s3_req_xml_find(xmlDocGetRootElement(d), "AccessControlList") : NULL;
        for (xmlNode *g = list ? list->children : NULL; g; g = g->next) {
            xmlNode *who = mk_prov_s3_req_xml_find(g->children, "URI");
            xmlChar *uri = who ? xmlNodeGetContent(who) : NULL;
            char perm[32];
            if (uri && strcmp((const char *)uri, "http://acs.amazonaws.com/groups/global/AllUsers") == 0 &&
                (strcmp(mk_prov_s3_req_xml_child(g, "Permission", perm, sizeof perm), "READ") == 0 ||
                 strcmp(perm, "FULL_CONTROL") == 0))
                s->public_read = 1;
            xmlFree(uri);
        }
        xmlFreeDoc(d);
    }
    mk_httpc_resp_free(&r);
    return st;
}

static mk_prov_status do_read(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    s3p *p = (s3p *)base;
    char name[80], kms[300] = "";
    if (!name_of(op, op->attrs, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    bool yes;
    mk_prov_status st = exists(p, op, name, &yes, why, whylen);
    if (st != MK_PROV_OK || !yes)
        return st; /* gone: *out stays NULL */
    mk_prov_bucket_seen s = {
        .encrypted = -1, .versioning = -1, .public_access_block = -1, .public_read = -1, .id = name};
    owner o = {0};
    if (API(p, MK_BUCKET_API_TAGGING) && (st = get_tags(p, op, name, &o, why, whylen)) == MK_PROV_OK)
        s.tags = o.tags;
    if (st == MK_PROV_OK && API(p, MK_BUCKET_API_ENCRYPTION))
        st = see_encryption(p, op, name, &s, kms, sizeof kms, why, whylen);
    if (st == MK_PROV_OK && API(p, MK_BUCKET_API_VERSIONING))
        st = get_versioning(p, op, name, &s.versioning, why, whylen);
    if (st == MK_PROV_OK && API(p, MK_BUCKET_API_PUBLIC_ACCESS_BLOCK))
        st = see_pab(p, op, name, &s, why, whylen);
    if (st == MK_PROV_OK && API(p, MK_BUCKET_API_POLICY | MK_BUCKET_API_PUBLIC_ACCESS))
        st = see_public(p, op, name, &s, why, whylen);
    if (st == MK_PROV_OK) {
        json_t *c = computed(p, name);
        s.endpoint = json_string_value(json_object_get(c, "endpoint"));
        /* an import reads every attribute: what the server shows, over the
         * "not asked" values (what it does not implement claims nothing),
         * the same whatever the desired attributes */
        json_t *rec = op->import_id ? json_pack("{s:b, s:b, s:b, s:s, s:{}, s:n, s:n, s:s}", "encrypted", 0, "public",
                                                0, "versioning", 0, "storage_class", "standard", "tags",
                                                "public_access_block", "kms_key", "bucket_name", name)
                                    : json_incref(op->attrs);
        *out = mk_prov_bucket_form(rec, &s);
        json_decref(rec);
        json_decref(c);
        st = *out ? MK_PROV_OK : (snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE);
    }
    json_decref(o.tags);
    return st;
}

/* ---- changes ---- */

static bool fault_named(const s3p *p, const mk_prov_op *op)
{
    return mk_prov_fault_named(p->fail_on, op->address);
}

/* fail_on is the spec's: honoured only where the connection allows it */
static bool injected(const s3p *p, const mk_prov_op *op, char *why, size_t whylen)
{
    if (!p->cc->allow_fault_injection || !fault_named(p, op))
        return false;
    snprintf(why, whylen, "s3: %s: injected failure (provider %s, fail_on)", op->address, p->alias);
    return true;
}

static mk_prov_status remove_bucket(s3p *p, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    if (!API(p, MK_BUCKET_API_TAGGING)) {
        mk_prov_status st = delete_one(p, op, name, MARKER, NULL, why, whylen);
        if (st != MK_PROV_OK)
            return st;
    }
    return mk_prov_s3_req_simple(p, op, &(call){.method = "DELETE", .bucket = name}, "DeleteBucket",
                                 mk_prov_s3_req_not_found, NULL, why, whylen);
}

/* Does ListBuckets (the caller's own buckets) list name? A bucket another
 * account holds never appears there, whatever its policy lets us do. */
static mk_prov_status listed(s3p *p, const mk_prov_op *op, const char *name, bool *yes, char *why, size_t whylen)
{
    *yes = false;
    mk_httpc_resp r;
    mk_prov_status st = mk_prov_s3_req_call(p, op, &(call){.method = "GET"}, "ListBuckets", NULL, &r, why, whylen);
    xmlDoc *d = st == MK_PROV_OK ? mk_prov_s3_req_xml_read(&r) : NULL;
    xmlNode *list = d ? mk_prov_s3_req_xml_find(xmlDocGetRootElement(d), "Buckets") : NULL;
    for (xmlNode *b = list ? list->children : NULL; b && !*yes; b = b->next) {
        char n[80];
        if (b->type == XML_ELEMENT_NODE && strcmp((const char *)b->name, "Bucket") == 0)
            *yes = strcmp(mk_prov_s3_req_xml_child(b, "Name", n, sizeof n), name) == 0;
    }
    xmlFreeDoc(d);
    mk_httpc_resp_free(&r);
    return st;
}

/* note [s3 owner]: a change or a delete touches only a bucket whose owner
 * is this stack and this address: one made again at the name by someone
 * else (after this stack's was deleted out of band) is never changed,
 * emptied or deleted. */
static mk_prov_status own_bucket(s3p *p, const mk_prov_op *op, const char *name, const char *what, char *why,
                                 size_t whylen)
{
    if (!op->stack_id)
        return MK_PROV_OK;
    owner o;
    mk_prov_status st = get_owner(p, op, name, &o, why, whylen);
    json_decref(o.tags);
    if (st != MK_PROV_OK)
        return st;
    if (!o.tagged)
        return snprintf(why, whylen,
                        "s3: %s: bucket %s has no owner tag (made again by someone else?): not %s; if it is "
                        "this resource's, `moksha import %s %s` first",
                        op->address, name, what, op->address, name),
               MK_PROV_FAILED;
    if (strcmp(o.stack, op->stack_id) != 0)
        return snprintf(why, whylen, "s3: %s: bucket %s is stack %s's: not %s", op->address, name, o.stack, what),
               MK_PROV_FAILED;
    if (o.address[0] && !same_address(&o, op->address))
        return snprintf(why, whylen, "s3: %s: bucket %s is this stack's %s: not %s", op->address, name, o.address,
                        what),
               MK_PROV_FAILED;
    return MK_PROV_OK;
}

/* note [s3 adopt]: a bucket already at the name is taken over only when its
 * owner tag (or marker) is this stack's — made by this run (a retry): not
 * adopted, so the undo deletes it; by an earlier run: adopted — or when it
 * has no owner and holds nothing (a create that died between CreateBucket
 * and its tag): adopted, so no undo deletes it. Anything else is foreign. */
static mk_prov_status take_over(s3p *p, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    bool ours = false;
    mk_prov_status st = listed(p, op, name, &ours, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (!ours)
        return snprintf(why, whylen,
                        "s3: %s: bucket %s exists but is not this account's (ListBuckets on connection %s does "
                        "not list it): not taken over; give the resource another bucket_name",
                        op->address, name, p->cc->name),
               MK_PROV_FAILED;
    owner o;
    st = get_owner(p, op, name, &o, why, whylen);
    json_decref(o.tags);
    if (st != MK_PROV_OK)
        return st;
    bool adopted = true;
    if (!op->stack_id)
        ;
    else if (o.tagged && strcmp(o.stack, op->stack_id) == 0 && (!o.address[0] || same_address(&o, op->address)))
        adopted = !op->run_id || strcmp(o.run, op->run_id) != 0;
    else if (o.tagged && strcmp(o.stack, op->stack_id) == 0)
        return snprintf(why, whylen,
                        "s3: %s: bucket %s is this stack's %s: two resources cannot share a bucket (give "
                        "one a bucket_name of its own)",
                        op->address, name, o.address),
               MK_PROV_FAILED;
    else {
        size_t n = 0;
        char first[200] = "";
        if (!o.tagged && (st = holds(p, op, name, &n, first, sizeof first, why, whylen)) != MK_PROV_OK)
            return st;
        if (o.tagged || n > 0)
            return snprintf(why, whylen,
                            "s3: %s already holds a bucket this stack did not make (bucket %s%s%s): not "
                            "taken over; to manage it, `moksha import %s %s`",
                            op->address, name, o.tagged ? ", owned by stack " : "", o.tagged ? o.stack : "",
                            op->address, name),
                   MK_PROV_FAILED;
    }
    if (op->adopted)
        *op->adopted = adopted;
    return MK_PROV_OK;
}

static mk_prov_status make_bucket(s3p *p, const mk_prov_op *op, const char *name, bool *made, char *why, size_t whylen)
{
    static const long ok[] = {409, 0};
    char *body = NULL;
    size_t len = 0;
    if (strcmp(p->region, "us-east-1") != 0) {
        xmlDoc *d;
        xmlNewTextChild(mk_prov_s3_req_xml_root(&d, "CreateBucketConfiguration"), NULL, BAD_CAST "LocationConstraint",
                        BAD_CAST p->region);
        if (!(body = mk_prov_s3_req_xml_dump(d, &len)))
            return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    }
    mk_httpc_resp r;
    mk_prov_status st =
        mk_prov_s3_req_call(p, op, &(call){.method = "PUT", .bucket = name, .body = body, .body_len = len},
                            "CreateBucket", ok, &r, why, whylen);
    free(body);
    *made = st == MK_PROV_OK && r.status != 409;
    if (st == MK_PROV_OK && r.status == 409) {
        char code[128], msg[300];
        mk_prov_s3_req_error(&r, code, sizeof code, msg, sizeof msg);
        if (strcmp(code, "BucketAlreadyOwnedByYou") != 0 && strcmp(code, "BucketAlreadyExists") != 0)
            st = MK_PROV_FAILED,
            snprintf(why, whylen, "s3: %s: CreateBucket: %s: %s (HTTP 409)", op->address, code, msg);
        else
            st = take_over(p, op, name, why, whylen);
    }
    mk_httpc_resp_free(&r);
    return st;
}

static mk_prov_status do_create(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    s3p *p = (s3p *)base;
    char name[80];
    if (!name_of(&(mk_prov_op){.address = op->address}, op->attrs, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    if (op->adopted)
        *op->adopted = false;
    bool made = false;
    mk_prov_status st = make_bucket(p, op, name, &made, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (injected(p, op, why, whylen))
        st = MK_PROV_FAILED; /* after the bucket is made: what the failure leaves is taken back below */
    else
        st = converge(p, op, name, op->attrs, why, whylen);
    if (st != MK_PROV_OK) {
        /* a create that fails after making its bucket deletes it: no
         * half-made bucket outlives the call that made it */
        char w[300];
        if (made || (op->adopted && !*op->adopted))
            remove_bucket(p, op, name, w, sizeof w);
        return st;
    }
    *out = computed(p, name);
    return *out ? MK_PROV_OK : (snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE);
}

static mk_prov_status do_update(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    s3p *p = (s3p *)base;
    char name[80];
    json_t *applied = op->prior ? op->prior : op->attrs;
    if (!name_of(&(mk_prov_op){.address = op->address}, applied, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED; /* before anything changes: a bucket's settings are no transaction */
    mk_prov_status st = own_bucket(p, op, name, "changed", why, whylen);
    if (st == MK_PROV_OK)
        st = converge(p, op, name, op->attrs, why, whylen);
    if (st == MK_PROV_OK)
        *out = computed(p, name);
    return st;
}

static mk_prov_status do_del(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    s3p *p = (s3p *)base;
    char name[80];
    if (!name_of(&(mk_prov_op){.address = op->address}, op->attrs, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    if (injected(p, op, why, whylen))
        return MK_PROV_FAILED;
    bool yes;
    mk_prov_status st = exists(p, op, name, &yes, why, whylen);
    if (st != MK_PROV_OK || !yes)
        return st;
    if ((st = own_bucket(p, op, name, "deleted", why, whylen)) != MK_PROV_OK)
        return st;
    if (json_is_true(json_object_get(op->attrs, "force_destroy")))
        st = empty(p, op, name, why, whylen);
    else {
        size_t n = 0;
        char first[200] = "";
        st = holds(p, op, name, &n, first, sizeof first, why, whylen);
        if (st == MK_PROV_OK && n > 0)
            return snprintf(why, whylen,
                            "s3: %s: bucket %s holds objects (%s%s): not deleted, nothing lost; "
                            "force_destroy = true deletes them first",
                            op->address, name, first, n > 1 ? ", …" : ""),
                   MK_PROV_FAILED;
    }
    return st == MK_PROV_OK ? remove_bucket(p, op, name, why, whylen) : st;
}

static mk_prov_status do_import(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    s3p *p = (s3p *)base;
    char name[80];
    if (!name_of(op, NULL, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    const char *want = json_string_value(json_object_get(op->attrs, "bucket_name"));
    if (want && strcmp(want, name) != 0)
        return snprintf(why, whylen, "s3: %s: its bucket_name is %s, not %s: import the bucket it names", op->address,
                        want, name),
               MK_PROV_FAILED;
    bool yes;
    mk_prov_status st = exists(p, op, name, &yes, why, whylen);
    if (st == MK_PROV_OK && !yes)
        return snprintf(why, whylen, "s3: %s: no bucket %s on connection %s", op->address, name, p->cc->name),
               MK_PROV_FAILED;
    owner o;
    if (st == MK_PROV_OK)
        st = get_owner(p, op, name, &o, why, whylen);
    else
        memset(&o, 0, sizeof o);
    if (st == MK_PROV_OK && o.tagged && op->stack_id && strcmp(o.stack, op->stack_id) != 0)
        st = MK_PROV_FAILED,
        snprintf(why, whylen, "s3: %s: bucket %s is stack %s's: not taken over", op->address, name, o.stack);
    if (st == MK_PROV_OK) /* its tags as they are, beside this stack's owner tag */
        st = put_owner(p, op, name, o.tags, why, whylen);
    json_decref(o.tags);
    if (st == MK_PROV_OK)
        *out = computed(p, name);
    return st;
}

/* ---- before the first step ---- */

/* Once per provider: the server answers and takes the credentials
 * (ListBuckets, signed): a wrong key or a broken signature is refused
 * before anything changes. */
static mk_prov_status probe(s3p *p, const mk_prov_op *op, char *why, size_t whylen)
{
    pthread_mutex_lock(&p->mu);
    bool done = p->probed;
    pthread_mutex_unlock(&p->mu);
    if (done)
        return MK_PROV_OK;
    mk_prov_status st = mk_prov_s3_req_simple(p, op, &(call){.method = "GET"}, "ListBuckets (the connection's check)",
                                              NULL, NULL, why, whylen);
    if (st == MK_PROV_OK) {
        pthread_mutex_lock(&p->mu);
        p->probed = true;
        pthread_mutex_unlock(&p->mu);
    }
    return st;
}

static mk_prov_status do_check(mk_prov *base, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    s3p *p = (s3p *)base;
    if (!op->type || strcmp(op->type, "bucket") != 0)
        return snprintf(why, whylen, "s3: %s: the s3 provider serves buckets, not %s", op->address,
                        op->type ? op->type : "(none)"),
               MK_PROV_FAILED;
    if (fault_named(p, op) && !p->cc->allow_fault_injection)
        return snprintf(why, whylen,
                        "s3: %s: provider %s asks for injected failures (fail_on), which connection %s "
                        "does not allow: set \"allow_fault_injection\": true on it in the executor's configuration "
                        "(docs/providers.md, \"Rules for every provider\")",
                        op->address, p->alias, p->cc->name),
               MK_PROV_FAILED;
    const char *act = op->action ? op->action : "";
    if (strcmp(act, "create") == 0 || strcmp(act, "update") == 0 || strcmp(act, "import") == 0) {
        if (mk_prov_bucket_refusals(&p->be, op->address, op->attrs, why, whylen) > 0)
            return MK_PROV_FAILED;
        char name[80];
        if (!name_of(&(mk_prov_op){.address = op->address, .import_id = op->import_id}, op->attrs, name, sizeof name,
                     why, whylen))
            return MK_PROV_FAILED;
    }
    mk_prov_status st = probe(p, op, why, whylen);
    if (st == MK_PROV_OK && strcmp(act, "create") == 0 && !op->deposed) {
        /* a bucket at the name that the create would not take over
         * (note [s3 adopt]) is refused now, before any step */
        char name[80];
        bool yes;
        mk_prov_op look = *op;
        look.adopted = NULL;
        if (name_of(&(mk_prov_op){.address = op->address}, op->attrs, name, sizeof name, why, whylen) &&
            (st = exists(p, op, name, &yes, why, whylen)) == MK_PROV_OK && yes)
            st = take_over(p, &look, name, why, whylen);
        return st;
    }
    if (st != MK_PROV_OK || (strcmp(act, "delete") != 0 && strcmp(act, "update") != 0))
        return st;
    /* a change or a delete of a bucket not this resource's, or a delete
     * that would find objects, is refused now, before any step */
    char name[80], first[200] = "";
    bool yes;
    size_t n = 0;
    json_t *applied = strcmp(act, "update") == 0 && op->prior ? op->prior : op->attrs;
    if (!name_of(&(mk_prov_op){.address = op->address}, applied, name, sizeof name, why, whylen))
        return MK_PROV_FAILED;
    st = exists(p, op, name, &yes, why, whylen);
    if (st == MK_PROV_OK && yes)
        st = own_bucket(p, op, name, strcmp(act, "delete") == 0 ? "deleted" : "changed", why, whylen);
    if (strcmp(act, "update") == 0 || json_is_true(json_object_get(op->attrs, "force_destroy")))
        return st;
    if (st == MK_PROV_OK && yes)
        st = holds(p, op, name, &n, first, sizeof first, why, whylen);
    if (st == MK_PROV_OK && n > 0)
        return snprintf(why, whylen,
                        "s3: %s: bucket %s holds objects (%s%s): a delete would lose them; "
                        "force_destroy = true deletes them first",
                        op->address, name, first, n > 1 ? ", …" : ""),
               MK_PROV_FAILED;
    return st;
}

/* A bucket deleted is not made again with its objects: no rollback can
 * count on it (docs/executor.md, "Irreversible steps last"). */
static unsigned caps_of(mk_prov *p, const char *type)
{
    (void)p, (void)type;
    return 0;
}

static void s3_free(mk_prov *base)
{
    s3p *p = (s3p *)base;
    mk_pgcred_free(p->cred);
    json_decref(p->fail_on);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static void env_name(json_t *cj, const char *key, const char *dflt, char *buf, size_t n)
{
    const char *s = json_string_value(json_object_get(cj, key));
    snprintf(buf, n, "%s", s ? s : dflt);
}

static const mk_config_conn *conn_for(json_t *settings, const mk_config *cfg, const char *alias, char *why,
                                      size_t whylen)
{
    const char *name = json_string_value(json_object_get(settings, "connection"));
    if (!name)
        return snprintf(why, whylen, "provider %s: no connection named (`provider s3 { connection = \"NAME\" }`)",
                        alias),
               NULL;
    const mk_config_conn *cc = mk_config_conn_find(cfg, name);
    if (!cc)
        return snprintf(why, whylen,
                        "provider %s: the executor's configuration (%s) has no connection `%s`: a spec "
                        "names a connection, the executor says where it goes (docs/providers.md, \"Connections\")",
                        alias, cfg && cfg->path[0] ? cfg->path : "none: MOKSHA_EXEC_CONFIG", name),
               NULL;
    if (strcmp(cc->kind, "s3") != 0)
        return snprintf(why, whylen, "provider %s: connection `%s` is a %s connection, not s3", alias, name, cc->kind),
               NULL;
    const char *region = json_string_value(json_object_get(settings, "region"));
    region = region ? region : "us-east-1";
    if (strcmp(region, cc->region[0] ? cc->region : "us-east-1") != 0)
        return snprintf(why, whylen,
                        "provider %s: its region is %s, but connection `%s` signs for %s: the block's "
                        "buckets would be priced and placed in one region and made in another",
                        alias, region, name, cc->region),
               NULL;
    if (cc->path_style == 0)
        return snprintf(why, whylen,
                        "provider %s: connection `%s` asks for virtual-hosted buckets (path_style = "
                        "false): this executor reaches buckets path-style only, on the endpoint's own host",
                        alias, name),
               NULL;
    return cc;
}

mk_prov *mk_prov_s3_new(json_t *settings, const mk_config *cfg, const char *alias, char *why, size_t whylen)
{
    alias = alias ? alias : "s3";
    xmlInitParser(); /* once, before the workers' threads parse (libxml2 asks it); later calls do nothing */
    const mk_config_conn *cc = conn_for(settings, cfg, alias, why, whylen);
    if (!cc)
        return NULL;
    unsigned apis;
    char w[300];
    if (!mk_prov_bucket_apis(cc->implements, S3_DEFAULT_APIS, &apis, w, sizeof w))
        return snprintf(why, whylen, "provider %s: connection %s: %s", alias, cc->name, w), NULL;
    s3p *p = calloc(1, sizeof *p);
    if (!p)
        return snprintf(why, whylen, "out of memory"), NULL;
    if (cc->password_command && !(p->cred = mk_pgcred_new_keys(cc, CRED_KEYS, why, whylen))) {
        free(p);
        return NULL;
    }
    p->cc = cc;
    snprintf(p->alias, sizeof p->alias, "%s", alias);
    snprintf(p->region, sizeof p->region, "%s", cc->region[0] ? cc->region : "us-east-1");
    env_name(cc->credentials, "access_key_id_env", "AWS_ACCESS_KEY_ID", p->ak_env, sizeof p->ak_env);
    env_name(cc->credentials, "secret_access_key_env", "AWS_SECRET_ACCESS_KEY", p->sk_env, sizeof p->sk_env);
    env_name(cc->credentials, "session_token_env", "AWS_SESSION_TOKEN", p->tok_env, sizeof p->tok_env);
    p->be = (mk_prov_bucket_backend){.kind = "s3", .conn = cc->name, .settable = S3_ALL_APIS, .implements = apis};
    mk_prov_bucket_vouches(cc->vouches, &p->be);
    json_t *fo = json_object_get(settings, "fail_on");
    p->fail_on = json_is_array(fo) ? json_incref(fo) : json_array();
    pthread_mutex_init(&p->mu, NULL);
    p->base = (mk_prov){.kind = "s3",
                        .caps = 0,
                        .create = do_create,
                        .read = do_read,
                        .update = do_update,
                        .del = do_del,
                        .import = do_import,
                        .move = NULL,
                        .check = do_check,
                        .caps_of = caps_of,
                        .free = s3_free,
                        .impl = p};
    return &p->base;
}
