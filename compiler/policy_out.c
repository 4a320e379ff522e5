/* policy_out — renderings of policy results. */
#include "compiler/policy_out.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compiler/key.h"

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
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    f(s);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The place to point at: the offending resource, else the policy's line. */
static json_t *where(json_t *v)
{
    json_t *r = json_object_get(v, "resource_location");
    return json_is_object(r) ? r : json_object_get(v, "location");
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

static void text(json_t *results, mk_buf *out, bool color)
{
    int pass = 0, warn = 0, fail = 0, over = 0, gates = 0;
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) {
        const char *st = str(r, "status");
        bool bad = !strcmp(st, "fail");
        pass += !strcmp(st, "pass"), warn += !strcmp(st, "warn"), fail += bad, over += !strcmp(st, "overridden");
        const char *col = !color ? "" : bad ? "\033[1;31m" : !strcmp(st, "pass") ? "\033[32m" : "\033[33m";
        mk_buf_printf(out, "%s%-10s%s %s (%s)\n", col, st, color ? "\033[0m" : "", str(r, "name"), str(r, "enforcement"));
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(r, "violations"), k, v) {
            json_t *at = where(v);
            if (json_is_object(at))
                mk_buf_printf(out, "           %s:%lld: ", rel(str(at, "file")), (long long)json_integer_value(json_object_get(at, "line")));
            else
                mk_buf_puts(out, "           ");
            mk_buf_printf(out, "%s\n", str(v, "message"));
        }
        json_array_foreach(json_object_get(r, "gates"), k, v) {
            gates++;
            mk_buf_printf(out, "           approval by %s needed%s%s: %s\n", str(v, "group"),
                          json_is_string(json_object_get(v, "address")) ? " for " : "", str(v, "address"), str(v, "message"));
        }
        json_int_t und = json_integer_value(json_object_get(r, "undetermined"));
        if (und)
            mk_buf_printf(out, "           %lld check%s undetermined: the value is known after apply, or not priced yet\n",
                          (long long)und, und == 1 ? "" : "s");
        if (json_is_true(json_object_get(r, "override_refused")))
            mk_buf_printf(out, "           override refused: only soft policies can be overridden; this one is %s\n",
                          str(r, "enforcement"));
        json_array_foreach(json_object_get(r, "risks"), k, v)
            mk_buf_printf(out, "           raises %s to %s risk: %s\n", str(v, "address"), str(v, "risk"), str(v, "message"));
        if (json_is_object(json_object_get(r, "override")))
            mk_buf_printf(out, "           overridden: %s\n", str(json_object_get(r, "override"), "reason"));
    }
    mk_buf_printf(out, "Policies: %d passed, %d failed, %d warned, %d overridden; %d approval gate%s.\n", pass, fail, warn,
                  over, gates, gates == 1 ? "" : "s");
}

static const char *level_of(json_t *r)
{
    const char *st = str(r, "status");
    return !strcmp(st, "fail") ? "error" : !strcmp(st, "warn") ? "warning" : "note";
}

static json_t *sarif_rule(json_t *r)
{
    const char *d = str(r, "description");
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}", "id", str(r, "name"), "name", str(r, "name"),
                     "shortDescription", "text", *d ? d : str(r, "name"), "fullDescription", "text", *d ? d : str(r, "name"),
                     "defaultConfiguration", "level", !strcmp(str(r, "enforcement"), "advisory") ? "warning" : "error",
                     "help", "text", "See docs/policies.md for the policy's rationale and how to fix or override it.");
}

static json_t *sarif_result(json_t *r, size_t rule_index, json_t *v)
{
    json_t *at = where(v);
    char fp_in[1024], fp[65];
    snprintf(fp_in, sizeof fp_in, "%s|%s|%s", str(r, "name"), str(v, "address"), str(v, "message"));
    mk_key_sha256_hex(fp_in, strlen(fp_in), fp);
    json_t *loc = json_pack("{s:{s:{s:s, s:s}, s:{s:I, s:I}}}", "physicalLocation", "artifactLocation", "uri",
                            json_is_object(at) ? rel(str(at, "file")) : "", "uriBaseId", "%SRCROOT%", "region", "startLine",
                            json_is_object(at) ? json_integer_value(json_object_get(at, "line")) : (json_int_t)1,
                            "startColumn", json_is_object(at) ? json_integer_value(json_object_get(at, "column")) : (json_int_t)1);
    return json_pack("{s:s, s:I, s:s, s:{s:s}, s:[o], s:{s:s}}", "ruleId", str(r, "name"), "ruleIndex", (json_int_t)rule_index,
                     "level", level_of(r), "message", "text", str(v, "message"), "locations", loc, "partialFingerprints",
                     "moksha/v1", fp);
}

static void sarif(json_t *results, mk_buf *out)
{
    json_t *rules = json_array(), *res = json_array();
    size_t i, k;
    json_t *r, *v;
    json_array_foreach(results, i, r) {
        json_array_append_new(rules, sarif_rule(r));
        json_array_foreach(json_object_get(r, "violations"), k, v)
            json_array_append_new(res, sarif_result(r, i, v));
    }
    json_t *doc = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:o}]}", "$schema",
                            "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", "tool", "driver",
                            "name", "moksha", "version", MK_VERSION,
                            "rules", rules, "results", res);
    put_json(out, doc);
    json_decref(doc);
}

static void xml_escape(mk_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': mk_buf_puts(out, "&amp;"); break;
        case '<': mk_buf_puts(out, "&lt;"); break;
        case '>': mk_buf_puts(out, "&gt;"); break;
        case '"': mk_buf_puts(out, "&quot;"); break;
        case '\'': mk_buf_puts(out, "&apos;"); break;
        default: mk_buf_putc(out, *s);
        }
    }
}

static void junit(json_t *results, mk_buf *out)
{
    int failures = 0;
    size_t i, k;
    json_t *r, *v;
    json_array_foreach(results, i, r)
        failures += !strcmp(str(r, "status"), "fail");
    mk_buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"moksha\" tests=\"%zu\" failures=\"%d\">\n"
                       "  <testsuite name=\"moksha policies\" tests=\"%zu\" failures=\"%d\">\n",
                  json_array_size(results), failures, json_array_size(results), failures);
    json_array_foreach(results, i, r) {
        mk_buf_puts(out, "    <testcase classname=\"moksha.policy\" name=\"");
        xml_escape(out, str(r, "name"));
        mk_buf_puts(out, "\">");
        const char *st = str(r, "status");
        bool fail = !strcmp(st, "fail");
        if (fail || !strcmp(st, "warn") || !strcmp(st, "overridden")) {
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
    mk_buf_puts(out, "  </testsuite>\n</testsuites>\n");
}

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

static void github(json_t *results, mk_buf *out)
{
    size_t i, k;
    json_t *r, *v;
    json_array_foreach(results, i, r) {
        const char *st = str(r, "status");
        if (!strcmp(st, "pass"))
            continue;
        json_array_foreach(json_object_get(r, "violations"), k, v) {
            json_t *at = where(v);
            mk_buf_printf(out, "::%s ", !strcmp(st, "fail") ? "error" : !strcmp(st, "warn") ? "warning" : "notice");
            if (json_is_object(at)) {
                mk_buf_puts(out, "file=");
                gh_escape(out, rel(str(at, "file")), true);
                mk_buf_printf(out, ",line=%lld,col=%lld,", (long long)json_integer_value(json_object_get(at, "line")),
                              (long long)json_integer_value(json_object_get(at, "column")));
            }
            mk_buf_puts(out, "title=");
            gh_escape(out, str(r, "name"), true);
            mk_buf_puts(out, "::");
            gh_escape(out, str(v, "message"), false);
            mk_buf_putc(out, '\n');
        }
    }
}

static void markdown(json_t *results, const char *stack, mk_buf *out)
{
    int fail = 0, warn = 0;
    size_t i, k;
    json_t *r, *v;
    json_array_foreach(results, i, r)
        fail += !strcmp(str(r, "status"), "fail"), warn += !strcmp(str(r, "status"), "warn");
    mk_buf_printf(out, "### moksha policies for `%s`: %s\n\n", stack, fail ? "❌ failing" : warn ? "⚠️ passing with warnings" : "✅ passing");
    mk_buf_puts(out, "| | policy | enforcement | findings |\n|---|---|---|---|\n");
    json_array_foreach(results, i, r) {
        const char *st = str(r, "status");
        const char *icon = !strcmp(st, "pass") ? "✅" : !strcmp(st, "fail") ? "❌" : !strcmp(st, "warn") ? "⚠️" : "🟡";
        mk_buf_printf(out, "| %s | `%s` | %s | ", icon, str(r, "name"), str(r, "enforcement"));
        json_array_foreach(json_object_get(r, "violations"), k, v)
            mk_buf_printf(out, "%s%s", k ? "<br>" : "", str(v, "message"));
        json_array_foreach(json_object_get(r, "gates"), k, v)
            mk_buf_printf(out, "%sneeds approval by **%s**: %s", k || json_array_size(json_object_get(r, "violations")) ? "<br>" : "",
                          str(v, "group"), str(v, "message"));
        mk_buf_puts(out, " |\n");
    }
}

void mk_policy_out(json_t *results, const char *fmt, const char *stack, mk_buf *out, bool color)
{
    if (!strcmp(fmt, "json")) {
        put_json(out, results);
    } else if (!strcmp(fmt, "sarif")) {
        sarif(results, out);
    } else if (!strcmp(fmt, "junit")) {
        junit(results, out);
    } else if (!strcmp(fmt, "github")) {
        github(results, out);
    } else if (!strcmp(fmt, "markdown")) {
        markdown(results, stack, out);
    } else {
        text(results, out, color);
    }
}

void mk_policy_out_tests(json_t *tests, int passed, int failed, bool json, mk_buf *out)
{
    if (json) {
        json_t *doc = json_pack("{s:i, s:i, s:O}", "passed", passed, "failed", failed, "tests", tests);
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
            json_t *at = json_object_get(x, "location");
            mk_buf_printf(out, "FAIL %s:%lld: test \"%s\": expected %s \"%s\", got %s\n", rel(str(at, "file")),
                          (long long)json_integer_value(json_object_get(at, "line")), str(t, "name"), str(x, "kind"),
                          str(x, "policy"), str(x, "got"));
        }
    }
    mk_buf_printf(out, "%d passed, %d failed\n", passed, failed);
}
