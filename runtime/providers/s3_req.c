/* s3_req — the s3 provider's requests (s3.h): keys from the environment
 * or a credential_command, every request through runtime/httpc.c signed by
 * libcurl's SigV4, errors in the server's words, and the XML of answers
 * and bodies through libxml2. */
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/providers/s3_req.h"

/* ---- credentials ---- */

typedef struct creds {
    char *userpwd; /* "KEY_ID:SECRET" */
    char *token;   /* "x-amz-security-token: …", or NULL */
} creds;

static void creds_wipe(creds *c)
{
    mk_pgcred_wipe(c->userpwd);
    mk_pgcred_wipe(c->token);
    c->userpwd = c->token = NULL;
}

static bool creds_set(creds *c, const char *ak, const char *sk, const char *tok)
{
    size_t n = strlen(ak) + strlen(sk) + 2;
    c->userpwd = malloc(n);
    if (c->userpwd)
        snprintf(c->userpwd, n, "%s:%s", ak, sk);
    if (tok && *tok) {
        size_t m = strlen(tok) + 32;
        c->token = malloc(m);
        if (c->token)
            snprintf(c->token, m, "x-amz-security-token: %s", tok);
    }
    return c->userpwd && (!tok || !*tok || c->token);
}

static mk_prov_status from_command(s3p *p, double until, creds *c, char *why, size_t whylen)
{
    bool retry = false;
    char *text = mk_pgcred_get(p->cred, until > 0 ? until : 1e300, &retry, why, whylen);
    if (!text)
        return retry ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
    json_t *doc = json_loads(text, 0, NULL);
    mk_pgcred_wipe(text);
    const char *ak = json_string_value(json_object_get(doc, "access_key_id")),
               *sk = json_string_value(json_object_get(doc, "secret_access_key")),
               *tok = json_string_value(json_object_get(doc, "session_token"));
    mk_prov_status st = MK_PROV_OK;
    if (!ak || !sk)
        snprintf(why, whylen, "connection %s: credential_command gave no secret_access_key", p->cc->name),
            st = MK_PROV_FAILED;
    else if (!creds_set(c, ak, sk, tok))
        snprintf(why, whylen, "out of memory"), st = MK_PROV_RETRYABLE;
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) /* jansson's copies: wiped before they are freed */
        OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    json_decref(doc);
    return st;
}

static mk_prov_status get_creds(s3p *p, double until, creds *c, char *why, size_t whylen)
{
    memset(c, 0, sizeof *c);
    if (p->cred)
        return from_command(p, until, c, why, whylen);
    const char *ak = getenv(p->ak_env), *sk = getenv(p->sk_env), *tok = getenv(p->tok_env);
    if (!ak || !*ak || !sk || !*sk)
        return snprintf(why, whylen,
                        "connection %s: the executor's environment has no %s (the connection's "
                        "credentials name the variables that hold its keys)",
                        p->cc->name, !ak || !*ak ? p->ak_env : p->sk_env),
               MK_PROV_FAILED;
    return creds_set(c, ak, sk, tok) ? MK_PROV_OK : (snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE);
}

/* ---- XML, read with libxml2 ---- */

xmlDoc *mk_prov_s3_req_xml_read(const mk_httpc_resp *r)
{
    if (!r->body || !r->len || r->len > (size_t)1 << 30)
        return NULL;
    /* no XML_PARSE_NOENT or DTDLOAD: nothing is fetched; and a document
     * with a DTD is refused whole, so no entity it declares is ever
     * expanded (xmlNodeGetContent would) */
    xmlDoc *d = xmlReadMemory(r->body, (int)r->len, "s3.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
    if (d && (d->intSubset || d->extSubset)) {
        xmlFreeDoc(d);
        return NULL;
    }
    return d;
}

/* The first element called name under n (n itself included), depth first. */
xmlNode *mk_prov_s3_req_xml_find(xmlNode *n, const char *name)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE) {
            if (strcmp((const char *)n->name, name) == 0)
                return n;
            xmlNode *c = mk_prov_s3_req_xml_find(n->children, name);
            if (c)
                return c;
        }
    return NULL;
}

/* The text of child name of n into buf ("" when absent). */
const char *mk_prov_s3_req_xml_child(xmlNode *n, const char *name, char *buf, size_t len)
{
    buf[0] = 0;
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            xmlChar *t = xmlNodeGetContent(c);
            snprintf(buf, len, "%s", t ? (const char *)t : "");
            xmlFree(t);
            break;
        }
    return buf;
}

/* The server's error code and message from an error answer. */
void mk_prov_s3_req_error(const mk_httpc_resp *r, char *code, size_t cl, char *msg, size_t ml)
{
    code[0] = msg[0] = 0;
    xmlDoc *d = mk_prov_s3_req_xml_read(r);
    xmlNode *e = d ? mk_prov_s3_req_xml_find(xmlDocGetRootElement(d), "Error") : NULL;
    if (e) {
        mk_prov_s3_req_xml_child(e, "Code", code, cl);
        mk_prov_s3_req_xml_child(e, "Message", msg, ml);
    }
    xmlFreeDoc(d);
    if (!code[0]) /* a HEAD has no body */
        snprintf(code, cl, "%s", r->status == 404 ? "NotFound" : r->status == 403 ? "Forbidden" : "HTTP");
    mk_httpc_clean(code); /* one line, no control bytes */
    mk_httpc_clean(msg);
}

/* An XML body built with libxml2 (values escaped by it): root's text. */
char *mk_prov_s3_req_xml_dump(xmlDoc *d, size_t *len)
{
    xmlChar *buf = NULL;
    int n = 0;
    xmlDocDumpMemoryEnc(d, &buf, &n, "UTF-8");
    xmlFreeDoc(d);
    char *s = buf ? strdup((const char *)buf) : NULL;
    xmlFree(buf);
    *len = s ? (size_t)n : 0;
    return s;
}

xmlNode *mk_prov_s3_req_xml_root(xmlDoc **d, const char *name)
{
    *d = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *r = xmlNewNode(NULL, BAD_CAST name);
    xmlNewNs(r, BAD_CAST "http://s3.amazonaws.com/doc/2006-03-01/", NULL);
    xmlDocSetRootElement(*d, r);
    return r;
}

/* ---- requests ---- */

/* Content-MD5 (some bucket APIs demand it) and x-amz-content-sha256 */
static void digests(const call *c, char *md5h, size_t ml, char *shah, size_t sl)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const char *b = c->body ? c->body : "";
    char b64[64];
    EVP_Digest(b, c->body_len, md, &n, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)b64, md, (int)n);
    snprintf(md5h, ml, "Content-MD5: %s", b64);
    EVP_Digest(b, c->body_len, md, &n, EVP_sha256(), NULL);
    int w = snprintf(shah, sl, "x-amz-content-sha256: ");
    for (unsigned int i = 0; i < n; i++)
        w += snprintf(shah + w, sl - (size_t)w, "%02x", md[i]);
}

/* Every copy of secret (4 bytes or more) in buf[0..len) overwritten with '*'. */
static void scrub(char *buf, size_t len, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (!buf || n < 4)
        return;
    for (char *q = buf; (q = memmem(q, len - (size_t)(q - buf), secret, n)) != NULL; q += n)
        memset(q, '*', n);
}

static mk_prov_status send_call(s3p *p, const mk_prov_op *op, const call *c, mk_httpc_resp *r, char *why, size_t whylen)
{
    memset(r, 0, sizeof *r); /* freed by the caller whatever happens */
    creds cr;
    mk_prov_status st = get_creds(p, op ? op->deadline_ms : 0, &cr, why, whylen);
    if (st != MK_PROV_OK)
        return creds_wipe(&cr), st;
    if (c->key && mk_httpc_dot_segment(c->key)) {
        creds_wipe(&cr);
        char k[200];
        snprintf(k, sizeof k, "%.199s", c->key);
        mk_httpc_clean(k);
        return snprintf(why, whylen,
                        "s3: %s: bucket %s: the key `%s` has a `.` or `..` segment, which HTTP would resolve to "
                        "another path (another bucket's object): not sent; remove that object by other means",
                        op ? op->address : p->alias, c->bucket ? c->bucket : "", k),
               MK_PROV_FAILED;
    }
    char *b = c->bucket ? mk_httpc_escape(c->bucket, false) : NULL, *k = c->key ? mk_httpc_escape(c->key, true) : NULL;
    size_t pl = (b ? strlen(b) : 0) + (k ? strlen(k) : 0) + 3,
           ul = strlen(p->cc->endpoint) + pl + (c->query ? strlen(c->query) : 0) + 3;
    char *path = malloc(pl), *url = malloc(ul), md5h[80], shah[100];
    bool fits = path && url && snprintf(path, pl, "/%s%s%s", b ? b : "", k ? "/" : "", k ? k : "") < (int)pl &&
                mk_httpc_url(p->cc, path, c->query, url, ul);
    free(b), free(k), free(path);
    if (!fits) {
        creds_wipe(&cr);
        free(url);
        return snprintf(why, whylen, "out of memory"), MK_PROV_RETRYABLE;
    }
    digests(c, md5h, sizeof md5h, shah, sizeof shah);
    const char *hdrs[6];
    size_t nh = 0;
    hdrs[nh++] = shah;
    if (c->body)
        hdrs[nh++] = md5h;
    if (c->header)
        hdrs[nh++] = c->header;
    if (cr.token)
        hdrs[nh++] = cr.token;
    hdrs[nh] = NULL;
    char sig[96];
    snprintf(sig, sizeof sig, "aws:amz:%s:s3", p->region);
    mk_httpc_req req = {.conn = p->cc,
                        .method = c->method,
                        .url = url,
                        .headers = hdrs,
                        .body = c->body,
                        .body_len = c->body_len,
                        .aws_sigv4 = sig,
                        .userpwd = cr.userpwd,
                        .deadline_ms = op ? op->deadline_ms : 0};
    char w[700];
    st = mk_httpc_send(&req, r, w, sizeof w);
    free(url);
    /* the server's answer (all that errors quote) never carries the
     * session token or the secret back out */
    const char *tok = cr.token ? cr.token + strlen("x-amz-security-token: ") : NULL,
               *sk = cr.userpwd ? strchr(cr.userpwd, ':') : NULL;
    const char *secrets[] = {tok, sk ? sk + 1 : NULL};
    for (size_t i = 0; i < 2; i++) {
        scrub(r->body, r->len, secrets[i]);
        for (size_t j = 0; j < r->nheaders; j++)
            scrub(r->headers[j], strlen(r->headers[j]), secrets[i]);
        scrub(w, strlen(w), secrets[i]);
    }
    creds_wipe(&cr);
    if (st != MK_PROV_OK)
        snprintf(why, whylen, "s3: %s: %s", op ? op->address : p->alias, w);
    return st;
}

/* A call whose answer must be 2xx, or one of the statuses in ok (0-ended,
 * e.g. 404 for "not there"); *status gets it. Else the server's code and
 * message, naming what was asked. */
mk_prov_status mk_prov_s3_req_call(s3p *p, const mk_prov_op *op, const call *c, const char *what, const long *ok,
                                   mk_httpc_resp *r, char *why, size_t whylen)
{
    mk_prov_status st = send_call(p, op, c, r, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (r->status >= 200 && r->status < 300)
        return MK_PROV_OK;
    for (; ok && *ok; ok++)
        if (r->status == *ok)
            return MK_PROV_OK;
    char code[128], msg[400];
    mk_prov_s3_req_error(r, code, sizeof code, msg, sizeof msg);
    const char *addr = op && op->address ? op->address : p->alias;
    if (r->status == 501 || strcmp(code, "NotImplemented") == 0)
        return snprintf(why, whylen,
                        "s3: %s: %s: the server answered NotImplemented (%s), yet connection %s lists "
                        "this API in `implements`: correct the connection (docs/providers.md, \"The s3 provider\")",
                        addr, what, msg, p->cc->name),
               MK_PROV_FAILED;
    snprintf(why, whylen, "s3: %s: %s: %s%s%s (HTTP %ld)", addr, what, code, msg[0] ? ": " : "", msg, r->status);
    return mk_httpc_status_retryable(r->status) || strcmp(code, "SlowDown") == 0 ? MK_PROV_RETRYABLE : MK_PROV_FAILED;
}

mk_prov_status mk_prov_s3_req_simple(s3p *p, const mk_prov_op *op, const call *c, const char *what, const long *ok,
                                     long *status, char *why, size_t whylen)
{
    mk_httpc_resp r;
    mk_prov_status st = mk_prov_s3_req_call(p, op, c, what, ok, &r, why, whylen);
    if (status)
        *status = r.status;
    mk_httpc_resp_free(&r);
    return st;
}

const long mk_prov_s3_req_not_found[] = {404, 0};
