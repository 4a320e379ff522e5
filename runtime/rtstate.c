/* rtstate — state in memory as an address-keyed object (jansson keeps
 * insertion order), written out as the resources list of the format. */
#include "runtime/rtstate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

static mk_rtstate *fresh(const char *path)
{
    mk_rtstate *s = calloc(1, sizeof *s);
    s->path = strdup(path);
    s->doc = json_pack("{s:s, s:s, s:I, s:[]}", "format", "moksha.state/v1", "lineage", "", "serial", (json_int_t)0,
                       "resources");
    s->by_addr = json_object();
    return s;
}

mk_rtstate *mk_rtstate_load(const char *path, char *why, size_t whylen)
{
    mk_rtstate *s = fresh(path);
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        if (errno == ENOENT && strstr(je.text, "unable to open"))
            return s;
        snprintf(why, whylen, "%s: %s (restore %s.prev, the copy kept before the last write)", path, je.text, path);
        mk_rtstate_free(s);
        return NULL;
    }
    json_t *res = json_object_get(doc, "resources");
    if (strcmp(json_string_value(json_object_get(doc, "format")) ?: "", "moksha.state/v1") != 0 || !json_is_array(res)) {
        snprintf(why, whylen, "%s: not a moksha.state/v1 document", path);
        json_decref(doc);
        mk_rtstate_free(s);
        return NULL;
    }
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r) {
        const char *a = json_string_value(json_object_get(r, "address"));
        if (a)
            json_object_set(s->by_addr, a, r);
    }
    json_object_set_new(doc, "resources", json_array());
    json_decref(s->doc);
    s->doc = doc;
    return s;
}

void mk_rtstate_free(mk_rtstate *s)
{
    if (!s)
        return;
    json_decref(s->doc);
    json_decref(s->by_addr);
    free(s->path);
    free(s);
}

const char *mk_rtstate_lineage(const mk_rtstate *s)
{
    return json_string_value(json_object_get(s->doc, "lineage")) ?: "";
}

long long mk_rtstate_serial(const mk_rtstate *s) { return json_integer_value(json_object_get(s->doc, "serial")); }

void mk_rtstate_ensure_lineage(mk_rtstate *s)
{
    if (*mk_rtstate_lineage(s))
        return;
    char u[37];
    mk_exec_uuid(u);
    json_object_set_new(s->doc, "lineage", json_string(u));
}

json_t *mk_rtstate_get(const mk_rtstate *s, const char *address) { return json_object_get(s->by_addr, address); }

void mk_rtstate_put(mk_rtstate *s, json_t *entry)
{
    const char *a = json_string_value(json_object_get(entry, "address"));
    if (a)
        json_object_set(s->by_addr, a, entry);
    json_decref(entry);
}

bool mk_rtstate_remove(mk_rtstate *s, const char *address) { return json_object_del(s->by_addr, address) == 0; }

json_t *mk_rtstate_snapshot(mk_rtstate *s)
{
    mk_rtstate_ensure_lineage(s);
    json_object_set_new(s->doc, "serial", json_integer(mk_rtstate_serial(s) + 1));
    json_t *list = json_array(), *snap = json_copy(s->doc);
    const char *k;
    json_t *v;
    json_object_foreach(s->by_addr, k, v)
        json_array_append(list, v);
    json_object_set_new(snap, "resources", list);
    return snap;
}

char *mk_rtstate_text(json_t *snapshot)
{
    char *text = json_dumps(snapshot, JSON_INDENT(1));
    json_decref(snapshot);
    return text;
}

char *mk_rtstate_dump(mk_rtstate *s) { return mk_rtstate_text(mk_rtstate_snapshot(s)); }

bool mk_rtstate_save_text(const mk_rtstate *s, const char *text)
{
    size_t n = strlen(text);
    char *t = malloc(n + 2);
    if (!t)
        return false;
    memcpy(t, text, n);
    t[n] = '\n';
    bool ok = mk_exec_write_atomic(s->path, t, n + 1, true, true);
    free(t);
    return ok;
}

bool mk_rtstate_save(mk_rtstate *s)
{
    char *t = mk_rtstate_dump(s);
    bool ok = t && mk_rtstate_save_text(s, t);
    free(t);
    return ok;
}
