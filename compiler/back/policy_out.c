/* policy_out — renderings of policy results. */
#include "compiler/back/policy_out.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/jalloc.h"
#include "compiler/base/key.h"
#include "compiler/back/md.h"

static const char *const FORMATS[] = {"text", "json", "sarif", "junit", "github", "markdown", NULL};

bool mk_policy_out_valid(const char *fmt)
{
    for (int i = 0; FORMATS[i]; i++)
        if (strcmp(fmt, FORMATS[i]) == 0)
            return true;
    return false;
}

/* Indented JSON and a newline; the text belongs to jansson's allocator. */
static void put_json(mk_buf *out, json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    mk_buf_puts(out, s ? s : "null");
    mk_buf_putc(out, '\n');
    mk_jalloc_free_text(s);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

/* The place to point at: the offending resource, else the policy's line. */
static json_t *where(json_t *v)
{
    json_t *r = json_object_get(v, "resource_location");
    return json_is_object(r) ? r : json_object_get(v, "location");
}

/* ---- paths (note [repository paths]) ---- */

/* Lexically: `a/./b/../c` is `a/c`; a `..` with nothing left to climb stays
 * in a relative path and goes in an absolute one. */
static void norm(const char *in, char *out, size_t n)
{
    enum { MAXC = 256 };
    const char *comp[MAXC];
    size_t len[MAXC];
    int k = 0;
    bool abs = in[0] == '/';
    for (const char *s = in; *s;) {
        while (*s == '/')
            s++;
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        bool dot = l == 1 && s[0] == '.', dotdot = l == 2 && s[0] == '.' && s[1] == '.';
        bool up = k > 0 && !(len[k - 1] == 2 && !strncmp(comp[k - 1], "..", 2));
        if (!l || dot || (dotdot && abs && !k))
            ;
        else if (dotdot && up)
            k--;
        else if (k < MAXC)
            comp[k] = s, len[k] = l, k++;
        s += l;
    }
    size_t o = 0;
    if (abs && o + 1 < n)
        out[o++] = '/';
    for (int i = 0; i < k; i++) {
        int w = snprintf(out + o, n - o, "%s%.*s", i ? "/" : "", (int)len[i], comp[i]);
        o = w < 0 || (size_t)w >= n - o ? n - 1 : o + (size_t)w;
    }
    if (!o && n > 1)
        out[o++] = '.';
    out[o < n ? o : n - 1] = 0;
}

/* path relative to dir; both absolute and normalised. */
static void relative(const char *path, const char *dir, char *out, size_t n)
{
    size_t common = 0; /* length of the shared leading components */
    for (size_t i = 0;; i++) {
        bool pend = !path[i] || path[i] == '/', dend = !dir[i] || dir[i] == '/';
        if (pend && dend)
            common = i;
        if (!path[i] || !dir[i] || path[i] != dir[i])
            break;
    }
    if (!strcmp(dir, "/"))
        common = 0;
    size_t o = 0;
    for (const char *d = dir + common; *d; d++)
        if (*d == '/' && d[1])
            o += (size_t)snprintf(out + o, o < n ? n - o : 0, "../");
    const char *rest = path + common + (path[common] == '/');
    snprintf(out + (o < n ? o : n - 1), o < n ? n - o : 1, "%s", rest);
    if (!out[0])
        snprintf(out, n, ".");
}

typedef struct roots {
    bool done;
    char stack[PATH_MAX]; /* the stack's directory */
    char repo[PATH_MAX];  /* the nearest one above it with .git, else the stack's */
} roots;

static const roots *find_roots(void)
{
    static roots R;
    if (R.done)
        return &R;
    R.done = true;
    if (!realpath(".", R.stack))
        snprintf(R.stack, sizeof R.stack, ".");
    snprintf(R.repo, sizeof R.repo, "%s", R.stack);
    char dir[PATH_MAX], git[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s", R.stack);
    for (;;) {
        struct stat st;
        snprintf(git, sizeof git, "%s/.git", strcmp(dir, "/") ? dir : "");
        if (stat(git, &st) == 0) { /* a directory, or a worktree's file */
            snprintf(R.repo, sizeof R.repo, "%s", dir);
            break;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            break;
        *slash = 0;
    }
    return &R;
}

void mk_policy_out_path(const char *file, const char *prefix, char *out, size_t n)
{
    char abs[PATH_MAX];
    if (!*file || !realpath(file, abs)) {
        snprintf(out, n, "%s", file);
        return;
    }
    const roots *R = find_roots();
    if (!prefix) {
        relative(abs, R->repo, out, n);
        return;
    }
    char rel[PATH_MAX], joined[2 * PATH_MAX + 2];
    relative(abs, R->stack, rel, sizeof rel);
    snprintf(joined, sizeof joined, "%s/%s", prefix, rel);
    norm(joined, out, n);
}

/* Where a location points, as CI formats name it. A report names a few
 * files many times: the last answer is kept (a realpath per violation is a
 * walk of the file system). */
static const char *ci_path(json_t *at, const mk_policy_out_opts *o, char *buf, size_t n)
{
    static char last_in[PATH_MAX], last_out[PATH_MAX];
    static const char *last_prefix;
    const char *file = str(at, "file");
    if (!last_in[0] || strcmp(file, last_in) != 0 || last_prefix != o->path_prefix) {
        mk_policy_out_path(file, o->path_prefix, last_out, sizeof last_out);
        snprintf(last_in, sizeof last_in, "%s", file);
        last_prefix = o->path_prefix;
    }
    snprintf(buf, n, "%s", last_out);
    return buf;
}

/* Repository-relative: a path under the working directory loses that prefix. */
static const char *rel(const char *path)
{
    static char cwd[4096];
    if (!cwd[0] && !getcwd(cwd, sizeof cwd - 1))
        return path;
    size_t n = strlen(cwd);
    if (strncmp(path, cwd, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

/* ---- text ---- */

typedef struct tally {
    int pass, warn, fail, over, error, gates;
} tally;

static tally count(json_t *results)
{
    tally t = {0};
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) {
        const char *st = str(r, "status");
        t.pass += !strcmp(st, "pass"), t.warn += !strcmp(st, "warn"), t.fail += !strcmp(st, "fail");
        t.over += !strcmp(st, "overridden"), t.error += !strcmp(st, "error");
        t.gates += (int)json_array_size(json_object_get(r, "gates"));
    }
    return t;
}

static void text_error(json_t *r, mk_buf *out)
{
    json_t *e = json_object_get(r, "error"), *at = json_object_get(e, "location");
    mk_buf_puts(out, "           ");
    if (json_is_object(at))
        mk_buf_printf(out, "%s:%lld:%lld: ", rel(str(at, "file")), num(at, "line"), num(at, "column"));
    mk_buf_printf(out, "the policy could not be evaluated: %s%s%s%s\n", str(e, "message"), *str(e, "code") ? " [" : "",
                  str(e, "code"), *str(e, "code") ? "]" : "");
}

/* One line of text: a line break or another control character in a
 * message (an attribute of the change, interpolated) is shown escaped, so it
 * can neither fake a line of the report nor, in a CI log, start a workflow
 * command (`::error …`) or a terminal escape. */
static const char *one_line(mk_buf *tmp, const char *s)
{
    tmp->len = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            mk_buf_puts(tmp, "\\n");
        else if (c == '\t')
            mk_buf_putc(tmp, ' ');
        else if (c < 0x20 || c == 0x7f)
            mk_buf_printf(tmp, "\\x%02x", c);
        else
            mk_buf_putc(tmp, (char)c);
    }
    return mk_buf_cstr(tmp);
}

static void text(json_t *results, mk_buf *out, bool color)
{
    size_t i;
    json_t *r;
    mk_buf t1 = {0}, t2 = {0};
    json_array_foreach(results, i, r) {
        const char *st = str(r, "status");
        bool bad = !strcmp(st, "fail") || !strcmp(st, "error");
        const char *col = !color ? "" : bad ? "\033[1;31m" : !strcmp(st, "pass") ? "\033[32m" : "\033[33m";
        mk_buf_printf(out, "%s%-10s%s %s (%s)\n", col, st, color ? "\033[0m" : "", one_line(&t1, str(r, "name")),
                      str(r, "enforcement"));
        if (json_is_object(json_object_get(r, "error")))
            text_error(r, out);
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(r, "violations"), k, v) {
            json_t *at = where(v);
            if (json_is_object(at))
                mk_buf_printf(out, "           %s:%lld: ", rel(str(at, "file")), num(at, "line"));
            else
                mk_buf_puts(out, "           ");
            mk_buf_printf(out, "%s\n", one_line(&t1, str(v, "message")));
        }
        json_array_foreach(json_object_get(r, "gates"), k, v) {
            json_int_t need = json_integer_value(json_object_get(v, "count"));
            char many[48] = "";
            if (need > 1)
                snprintf(many, sizeof many, " (%lld distinct approvers)", (long long)need);
            mk_buf_printf(out, "           approval by %s%s needed%s%s: %s\n", one_line(&t2, str(v, "group")), many,
                          json_is_string(json_object_get(v, "address")) ? " for " : "", str(v, "address"),
                          one_line(&t1, str(v, "message")));
        }
        json_array_foreach(json_object_get(r, "waived"), k, v) /* note [waivers]: shown while they last */
            mk_buf_printf(out, "           waived for %s until %s (waiver %.8s by key %s): %s\n", one_line(&t2, str(v, "address")),
                          str(v, "expires"), str(v, "waiver"), str(v, "by"), one_line(&t1, str(v, "message")));
        json_int_t und = json_integer_value(json_object_get(r, "undetermined"));
        if (und)
            mk_buf_printf(out, "           %lld check%s undetermined: the value is known after apply, or not priced yet\n",
                          (long long)und, und == 1 ? "" : "s");
        if (json_is_true(json_object_get(r, "override_refused")))
            mk_buf_printf(out, "           override refused: only soft policies can be overridden; this one is %s\n",
                          str(r, "enforcement"));
        json_array_foreach(json_object_get(r, "risks"), k, v)
            mk_buf_printf(out, "           raises %s to %s risk: %s\n", str(v, "address"), str(v, "risk"),
                          one_line(&t1, str(v, "message")));
        if (json_is_object(json_object_get(r, "override")))
            mk_buf_printf(out, "           overridden: %s\n", one_line(&t1, str(json_object_get(r, "override"), "reason")));
    }
    mk_buf_free(&t1);
    mk_buf_free(&t2);
    tally t = count(results);
    mk_buf_printf(out, "Policies: %d passed, %d failed, %d warned, %d overridden", t.pass, t.fail, t.warn, t.over);
    if (t.error)
        mk_buf_printf(out, ", %d could not be evaluated", t.error);
    mk_buf_printf(out, "; %d approval gate%s.\n", t.gates, t.gates == 1 ? "" : "s");
}

/* ---- sarif ---- */

static const char *level_of(json_t *r)
{
    const char *st = str(r, "status");
    return !strcmp(st, "fail") || !strcmp(st, "error") ? "error" : !strcmp(st, "warn") ? "warning" : "note";
}

static json_t *sarif_rule(json_t *r)
{
    const char *d = str(r, "description");
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}", "id", str(r, "name"), "name", str(r, "name"),
                     "shortDescription", "text", *d ? d : str(r, "name"), "fullDescription", "text", *d ? d : str(r, "name"),
                     "defaultConfiguration", "level", !strcmp(str(r, "enforcement"), "advisory") ? "warning" : "error",
                     "help", "text", "See docs/policies.md for the policy's rationale and how to fix or override it.");
}

/* A URI reference: bytes outside RFC 3986's unreserved and sub-delims as %XX. */
static void uri_escape(mk_buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~/!$&'()*+,;=:@", c))
            mk_buf_putc(out, (char)c);
        else
            mk_buf_printf(out, "%%%02X", c);
    }
}

static json_t *sarif_location(json_t *at, const mk_policy_out_opts *o)
{
    char path[PATH_MAX];
    mk_buf uri = {0};
    uri_escape(&uri, json_is_object(at) ? ci_path(at, o, path, sizeof path) : "");
    json_t *loc = json_pack("{s:{s:{s:s, s:s}, s:{s:I, s:I}}}", "physicalLocation", "artifactLocation", "uri",
                            mk_buf_cstr(&uri), "uriBaseId", "%SRCROOT%", "region", "startLine",
                            json_is_object(at) ? json_integer_value(json_object_get(at, "line")) : (json_int_t)1,
                            "startColumn", json_is_object(at) ? json_integer_value(json_object_get(at, "column")) : (json_int_t)1);
    mk_buf_free(&uri);
    return loc;
}

static json_t *sarif_result(json_t *r, size_t rule_index, const char *address, const char *msg, json_t *at,
                            const mk_policy_out_opts *o)
{
    char fp_in[1024], fp[65];
    snprintf(fp_in, sizeof fp_in, "%s|%s|%s", str(r, "name"), address, msg);
    mk_key_sha256_hex(fp_in, strlen(fp_in), fp);
    return json_pack("{s:s, s:I, s:s, s:{s:s}, s:[o], s:{s:s}}", "ruleId", str(r, "name"), "ruleIndex", (json_int_t)rule_index,
                     "level", level_of(r), "message", "text", msg, "locations", sarif_location(at, o), "partialFingerprints",
                     "moksha/v1", fp);
}

/* %SRCROOT%: the repository's root as a file URI, when it is known. */
static json_t *sarif_base(const mk_policy_out_opts *o)
{
    const roots *R = find_roots();
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s", R->repo);
    if (o->path_prefix) { /* the stack's directory less the prefix, if it ends so */
        char p[PATH_MAX];
        norm(o->path_prefix, p, sizeof p);
        size_t ls = strlen(R->stack), lp = strlen(p);
        if (!strcmp(p, "."))
            snprintf(root, sizeof root, "%s", R->stack);
        else if (p[0] != '/' && strncmp(p, "..", 2) != 0 && ls > lp && !strcmp(R->stack + ls - lp, p) &&
                 R->stack[ls - lp - 1] == '/')
            snprintf(root, sizeof root, "%.*s", (int)(ls - lp - 1), R->stack);
        else
            root[0] = 0;
    }
    json_t *base = json_pack("{s:{s:s}}", "description", "text", "The root of the repository that holds the stack");
    if (root[0]) {
        mk_buf u = {0};
        mk_buf_puts(&u, "file://");
        uri_escape(&u, root);
        if (strcmp(root, "/"))
            mk_buf_putc(&u, '/');
        json_object_set_new(base, "uri", json_string(mk_buf_cstr(&u)));
        mk_buf_free(&u);
    }
    return json_pack("{s:o}", "%SRCROOT%", base);
}

static void sarif(json_t *results, const mk_policy_out_opts *o, mk_buf *out)
{
    json_t *rules = json_array(), *res = json_array();
    size_t i, k;
    json_t *r, *v;
    json_array_foreach(results, i, r) {
        json_array_append_new(rules, sarif_rule(r));
        json_t *e = json_object_get(r, "error");
        if (json_is_object(e)) {
            char msg[2048];
            snprintf(msg, sizeof msg, "the policy could not be evaluated: %s", str(e, "message"));
            json_t *at = json_object_get(e, "location");
            json_array_append_new(res, sarif_result(r, i, "", msg, json_is_object(at) ? at : json_object_get(r, "location"), o));
        }
        json_array_foreach(json_object_get(r, "violations"), k, v)
            json_array_append_new(res, sarif_result(r, i, str(v, "address"), str(v, "message"), where(v), o));
    }
    json_t *doc = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:o, s:o}]}", "$schema",
                            "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", "tool", "driver",
                            "name", "moksha", "version", MK_VERSION, "rules", rules, "originalUriBaseIds", sarif_base(o),
                            "results", res);
    put_json(out, doc);
    json_decref(doc);
}

/* ---- junit ---- */

static void xml_escape(mk_buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': mk_buf_puts(out, "&amp;"); break;
        case '<': mk_buf_puts(out, "&lt;"); break;
        case '>': mk_buf_puts(out, "&gt;"); break;
        case '"': mk_buf_puts(out, "&quot;"); break;
        case '\'': mk_buf_puts(out, "&apos;"); break;
        case '\n': mk_buf_puts(out, "&#10;"); break;
        case '\r': mk_buf_puts(out, "&#13;"); break;
        case '\t': mk_buf_puts(out, "&#9;"); break;
        default: mk_buf_putc(out, c < 0x20 ? ' ' : (char)c); /* XML 1.0 has no other control characters */
        }
    }
}

static void junit_case(json_t *r, const mk_policy_out_opts *o, mk_buf *out)
{
    char path[PATH_MAX];
    size_t k;
    json_t *v;
    mk_buf_puts(out, "    <testcase classname=\"moksha.policy\" name=\"");
    xml_escape(out, str(r, "name"));
    json_t *at = json_object_get(r, "location");
    if (json_is_object(at)) {
        mk_buf_puts(out, "\" file=\"");
        xml_escape(out, ci_path(at, o, path, sizeof path));
        mk_buf_printf(out, "\" line=\"%lld", num(at, "line"));
    }
    mk_buf_puts(out, "\">");
    const char *st = str(r, "status");
    bool fail = !strcmp(st, "fail");
    if (!strcmp(st, "error")) {
        mk_buf_puts(out, "\n      <error type=\"evaluation\" message=\"the policy could not be evaluated: ");
        xml_escape(out, str(json_object_get(r, "error"), "message"));
        mk_buf_puts(out, "\"/>\n    ");
    } else if (fail || !strcmp(st, "warn") || !strcmp(st, "overridden")) {
        mk_buf_puts(out, fail ? "\n      <failure type=\"policy\" message=\"" : "\n      <system-out>");
        json_array_foreach(json_object_get(r, "violations"), k, v) {
            if (k)
                mk_buf_puts(out, "; ");
            xml_escape(out, str(v, "message"));
        }
        mk_buf_puts(out, fail ? "\"/>\n    " : "</system-out>\n    ");
    }
    mk_buf_puts(out, "</testcase>\n");
}

static void junit(json_t *results, const mk_policy_out_opts *o, mk_buf *out)
{
    tally t = count(results);
    size_t i;
    json_t *r;
    mk_buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"moksha\" tests=\"%zu\" failures=\"%d\" errors=\"%d\">\n"
                       "  <testsuite name=\"moksha policies\" tests=\"%zu\" failures=\"%d\" errors=\"%d\">\n",
                  json_array_size(results), t.fail, t.error, json_array_size(results), t.fail, t.error);
    json_array_foreach(results, i, r)
        junit_case(r, o, out);
    mk_buf_puts(out, "  </testsuite>\n</testsuites>\n");
}

/* ---- github ---- */

/* GitHub workflow commands: %, CR and LF escaped in messages; also , and : in properties. */
static void gh_escape(mk_buf *out, const char *s, bool property)
{
    for (; *s; s++) {
        if (*s == '%') mk_buf_puts(out, "%25");
        else if (*s == '\r') mk_buf_puts(out, "%0D");
        else if (*s == '\n') mk_buf_puts(out, "%0A");
        else if (property && *s == ':') mk_buf_puts(out, "%3A");
        else if (property && *s == ',') mk_buf_puts(out, "%2C");
        else mk_buf_putc(out, *s);
    }
}

static void gh_line(mk_buf *out, const char *level, json_t *r, json_t *at, const char *pre, const char *msg,
                    const mk_policy_out_opts *o)
{
    char path[PATH_MAX];
    mk_buf_printf(out, "::%s ", level);
    if (json_is_object(at)) {
        mk_buf_puts(out, "file=");
        gh_escape(out, ci_path(at, o, path, sizeof path), true);
        mk_buf_printf(out, ",line=%lld,col=%lld,", num(at, "line"), num(at, "column"));
    }
    mk_buf_puts(out, "title=");
    gh_escape(out, str(r, "name"), true);
    mk_buf_puts(out, "::");
    gh_escape(out, pre, false);
    gh_escape(out, msg, false);
    mk_buf_putc(out, '\n');
}

static void github(json_t *results, const mk_policy_out_opts *o, mk_buf *out)
{
    size_t i, k;
    json_t *r, *v;
    json_array_foreach(results, i, r) {
        const char *st = str(r, "status");
        if (!strcmp(st, "pass"))
            continue;
        json_t *e = json_object_get(r, "error");
        if (json_is_object(e)) {
            json_t *at = json_object_get(e, "location");
            gh_line(out, "error", r, json_is_object(at) ? at : json_object_get(r, "location"),
                    "the policy could not be evaluated: ", str(e, "message"), o);
        }
        json_array_foreach(json_object_get(r, "violations"), k, v)
            gh_line(out, !strcmp(st, "fail") || !strcmp(st, "error") ? "error" : !strcmp(st, "warn") ? "warning" : "notice", r,
                    where(v), "", str(v, "message"), o);
    }
}

/* ---- markdown ---- */

/* A finding's place, as `path:line`, after its text. */
static void md_at(mk_buf *out, json_t *at, const mk_policy_out_opts *o)
{
    if (!json_is_object(at))
        return;
    char path[PATH_MAX], loc[PATH_MAX + 32];
    snprintf(loc, sizeof loc, "%s:%lld", ci_path(at, o, path, sizeof path), num(at, "line"));
    mk_buf_puts(out, " (");
    mk_md_code(out, loc, true);
    mk_buf_putc(out, ')');
}

static void md_row(json_t *r, const mk_policy_out_opts *o, mk_buf *out)
{
    const char *st = str(r, "status");
    const char *icon = !strcmp(st, "pass") ? "✅" : !strcmp(st, "fail") ? "❌" : !strcmp(st, "warn") ? "⚠️"
                     : !strcmp(st, "error") ? "⛔" : "🟡";
    mk_buf_printf(out, "| %s | ", icon);
    mk_md_code(out, str(r, "name"), true);
    mk_buf_puts(out, " | ");
    mk_md_text(out, str(r, "enforcement"));
    mk_buf_puts(out, " | ");
    const char *sep = "";
    size_t k;
    json_t *v, *e = json_object_get(r, "error");
    if (json_is_object(e)) {
        mk_buf_puts(out, "could not be evaluated: ");
        mk_md_text(out, str(e, "message"));
        md_at(out, json_object_get(e, "location"), o);
        sep = "<br>";
    }
    json_array_foreach(json_object_get(r, "violations"), k, v) {
        mk_buf_puts(out, sep);
        mk_md_text(out, str(v, "message"));
        md_at(out, where(v), o);
        sep = "<br>";
    }
    json_array_foreach(json_object_get(r, "gates"), k, v) {
        mk_buf_printf(out, "%sneeds approval by **", sep);
        mk_md_text(out, str(v, "group"));
        mk_buf_puts(out, "**");
        if (json_integer_value(json_object_get(v, "count")) > 1)
            mk_buf_printf(out, " (%lld distinct approvers)", (long long)json_integer_value(json_object_get(v, "count")));
        mk_buf_puts(out, ": ");
        mk_md_text(out, str(v, "message"));
        sep = "<br>";
    }
    json_array_foreach(json_object_get(r, "waived"), k, v) {
        mk_buf_printf(out, "%swaived for `", sep);
        mk_md_text(out, str(v, "address"));
        mk_buf_puts(out, "` until ");
        mk_md_text(out, str(v, "expires"));
        mk_buf_puts(out, ": ");
        mk_md_text(out, str(v, "message"));
        sep = "<br>";
    }
    json_array_foreach(json_object_get(r, "risks"), k, v) {
        mk_buf_printf(out, "%sraises ", sep);
        mk_md_code(out, str(v, "address"), true);
        mk_buf_puts(out, " to ");
        mk_md_text(out, str(v, "risk"));
        mk_buf_puts(out, " risk: ");
        mk_md_text(out, str(v, "message"));
        sep = "<br>";
    }
    if (json_is_object(json_object_get(r, "override"))) {
        mk_buf_printf(out, "%soverridden: ", sep);
        mk_md_text(out, str(json_object_get(r, "override"), "reason"));
    }
    mk_buf_puts(out, " |\n");
}

/* A policy with something to say: all but a plain pass. */
static bool md_finding(json_t *r)
{
    return strcmp(str(r, "status"), "pass") != 0 || json_array_size(json_object_get(r, "gates")) ||
           json_array_size(json_object_get(r, "risks")) || json_array_size(json_object_get(r, "waived"));
}

/* note [markdown findings]: a pull-request comment lists only the policies
 * with something to say (failures, warnings, overrides, errors, approval
 * gates, raised risks) and counts the rest: a pack of fifty policies gives a
 * comment of a few lines. `--format json` still lists every result. */
static void markdown(json_t *results, const mk_policy_out_opts *o, mk_buf *out)
{
    tally t = count(results);
    mk_buf_puts(out, "### moksha policies for ");
    mk_md_code(out, o->stack ? o->stack : "", false);
    mk_buf_printf(out, ": %s\n\n", t.error ? "⛔ policies could not be evaluated" : t.fail ? "❌ failing"
                                   : t.warn ? "⚠️ passing with warnings" : "✅ passing");
    mk_buf_printf(out, "%d failed, %d warned, %d overridden, %d passed", t.fail, t.warn, t.over, t.pass);
    if (t.error)
        mk_buf_printf(out, ", %d could not be evaluated", t.error);
    mk_buf_printf(out, "; %d approval gate%s.\n", t.gates, t.gates == 1 ? "" : "s");
    size_t i;
    json_t *r;
    bool head = false;
    json_array_foreach(results, i, r) {
        if (!md_finding(r))
            continue;
        if (!head)
            mk_buf_puts(out, "\n| | policy | enforcement | findings |\n|---|---|---|---|\n");
        head = true;
        md_row(r, o, out);
    }
}

void mk_policy_out_ex(json_t *results, const char *fmt, const mk_policy_out_opts *o, mk_buf *out)
{
    if (!strcmp(fmt, "json"))
        put_json(out, results);
    else if (!strcmp(fmt, "sarif"))
        sarif(results, o, out);
    else if (!strcmp(fmt, "junit"))
        junit(results, o, out);
    else if (!strcmp(fmt, "github"))
        github(results, o, out);
    else if (!strcmp(fmt, "markdown"))
        markdown(results, o, out);
    else
        text(results, out, o->color);
}

void mk_policy_out(json_t *results, const char *fmt, const char *stack, mk_buf *out, bool color)
{
    mk_policy_out_opts o = {.stack = stack, .color = color};
    mk_policy_out_ex(results, fmt, &o, out);
}

/* ---- policy test ---- */

void mk_policy_out_tests(json_t *tests, const mk_policy_counts *n, bool json, mk_buf *out)
{
    if (json) {
        json_t *doc = json_pack("{s:i, s:i, s:i, s:O}", "passed", n->passed, "failed", n->failed, "errors", n->errors,
                                "tests", tests);
        put_json(out, doc);
        json_decref(doc);
        return;
    }
    size_t i, k;
    json_t *t, *x;
    json_array_foreach(tests, i, t) {
        json_array_foreach(json_object_get(t, "expectations"), k, x) {
            if (json_is_true(json_object_get(x, "ok")))
                continue;
            json_t *at = json_object_get(x, "location"), *e = json_object_get(x, "error");
            if (json_is_object(e)) {
                json_t *eat = json_object_get(e, "location");
                mk_buf_printf(out, "ERROR %s:%lld: test \"%s\": policy \"%s\" could not be evaluated: %s", rel(str(at, "file")),
                              num(at, "line"), str(t, "name"), str(x, "policy"), str(e, "message"));
                if (json_is_object(eat))
                    mk_buf_printf(out, " (at %s:%lld:%lld)", rel(str(eat, "file")), num(eat, "line"), num(eat, "column"));
                mk_buf_putc(out, '\n');
                continue;
            }
            mk_buf_printf(out, "FAIL %s:%lld: test \"%s\": expected %s \"%s\", got %s\n", rel(str(at, "file")),
                          num(at, "line"), str(t, "name"), str(x, "kind"), str(x, "policy"), str(x, "got"));
        }
    }
    mk_buf_printf(out, "%d passed, %d failed", n->passed, n->failed);
    if (n->errors)
        mk_buf_printf(out, ", %d error%s", n->errors, n->errors == 1 ? "" : "s");
    mk_buf_putc(out, '\n');
}
