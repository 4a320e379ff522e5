/* moves — `moved` and `import` blocks against the state (moves.h).
 *
 * A move applies when the state has its `from` and not where the chain of
 * moves ends: that entry is then the before of the resource at the end
 * (a → b → c with a applied: c starts from a's entry). Once applied the
 * state has the end and not `from`, and the block does nothing. A state
 * holding both is an error: which object is the resource's is not ours to
 * guess. An import applies when the state does not have its target.
 *
 * It is not the differ: it only answers which entry and which id. */
#include "compiler/middle/moves.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/base/symtab.h"
#include "compiler/front/vjson.h"

struct mk_moves {
    mk_program *p;
    mk_symtab by_to;     /* interned address → mk_moves_hit */
    mk_symtab by_from;   /* interned address a move took from the state → the address it now has */
    mk_moves_hit *hits;
    uint32_t n;
};

static const mk_relocation *move_from(const mk_program *p, const char *addr)
{
    for (uint32_t i = 0; i < p->nrelocs; i++)
        if (!p->relocs[i].import && strcmp(p->relocs[i].from, addr) == 0)
            return &p->relocs[i];
    return NULL;
}

/* Where a chain starting with r ends (front/moved.c refused circles; the
 * bound keeps a reported one from looping). */
static const char *chain_end(const mk_program *p, const mk_relocation *r)
{
    const char *at = r->to;
    const mk_relocation *next;
    for (uint32_t steps = 0; steps < p->nrelocs && (next = move_from(p, at)); steps++)
        at = next->to;
    return at;
}

static mk_moves_hit *hit_at(mk_moves *m, const char *addr)
{
    return mk_sym_get(&m->by_to, mk_intern_s(m->p->ast.names, addr), NULL);
}

static mk_moves_hit *add_hit(mk_moves *m, const char *addr)
{
    mk_moves_hit *h = &m->hits[m->n++];
    *h = (mk_moves_hit){0};
    mk_sym_put(&m->by_to, mk_intern_s(m->p->ast.names, addr), NULL, h);
    return h;
}

static void both_applied(mk_program *p, const mk_relocation *r, const char *from, const char *to)
{
    mk_diag_item *d = mk_diag_error(p->diag, "E0121", r->at, "the state holds both `%s` and `%s`", from, to);
    mk_diag_label(d, "`%s` is moved to `%s`", r->from, r->to);
    mk_diag_help(d, "which object is `%s` cannot be guessed: `moksha state rm` the one that is not, or remove the block", to);
}

static void resolve_move(mk_moves *m, const mk_state *st, const mk_relocation *r)
{
    size_t idx = 0;
    json_t *sr = mk_state_find(st, r->from, &idx);
    if (!sr)
        return;
    const char *end = chain_end(m->p, r);
    mk_moves_hit *h = hit_at(m, end);
    if (mk_state_find(st, end, NULL) || (h && h->moved_from)) {
        both_applied(m->p, r, r->from, h && h->moved_from ? h->moved_from : end);
        return;
    }
    h = add_hit(m, end);
    h->moved_from = json_string_value(json_object_get(sr, "address"));
    mk_sym_put(&m->by_from, mk_intern_s(m->p->ast.names, r->from), NULL, (void *)end);
    h->entry = sr;
    h->index = idx;
}

/* The object the executor read for this import, when it read the same id
 * and found it (docs/drift.md: `refresh PLAN`); else NULL, attributes
 * unknown until read. */
static json_t *import_observed(json_t *imports, const mk_relocation *r)
{
    json_t *o = json_object_get(imports, r->to);
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *status = json_string_value(json_object_get(o, "status"));
    if (!id || strcmp(id, r->id) != 0 || !status || strcmp(status, "present") != 0)
        return NULL;
    json_t *a = json_object_get(o, "attributes");
    return json_is_object(a) ? a : NULL;
}

static void resolve_import(mk_moves *m, const mk_state *st, const mk_relocation *r, json_t *imports)
{
    if (mk_state_find(st, r->to, NULL)) {
        mk_diag_item *d = mk_diag_report(m->p->diag, MK_DIAG_NOTE, "E0121", r->at,
                                         "`%s` is already in the state: this import is done", r->to);
        mk_diag_help(d, "the block can be removed");
        return;
    }
    if (!r->id || hit_at(m, r->to))
        return;
    mk_moves_hit *h = add_hit(m, r->to);
    h->import_id = r->id;
    h->observed = import_observed(imports, r);
}

mk_moves *mk_moves_new(mk_program *p, const mk_state *st, json_t *observed_imports)
{
    if (!p->nrelocs)
        return NULL;
    mk_moves *m = mk_mem_calloc(1, sizeof *m);
    m->p = p;
    m->hits = mk_mem_calloc(p->nrelocs, sizeof *m->hits);
    for (uint32_t i = 0; i < p->nrelocs; i++)
        if (!p->relocs[i].import)
            resolve_move(m, st, &p->relocs[i]);
    for (uint32_t i = 0; i < p->nrelocs; i++)
        if (p->relocs[i].import)
            resolve_import(m, st, &p->relocs[i], observed_imports);
    return m;
}

bool mk_moves_find(const mk_moves *m, const char *address, mk_moves_hit *hit)
{
    if (!m || !m->n)
        return false;
    mk_name key = mk_intern_s(m->p->ast.names, address);
    const mk_moves_hit *h = mk_sym_get(&m->by_to, key, NULL);
    if (!h)
        return false;
    *hit = *h;
    return true;
}

json_t *mk_moves_state_entry(const mk_program *p, const mk_state *st, const char *address, size_t *index)
{
    json_t *sr = mk_state_find(st, address, index);
    for (uint32_t i = 0; !sr && i < p->nrelocs; i++) {
        const mk_relocation *r = &p->relocs[i];
        if (!r->import && strcmp(chain_end(p, r), address) == 0 && !mk_state_find(st, address, NULL))
            sr = mk_state_find(st, r->from, index);
    }
    return sr;
}

static const char *ref_of(json_t *v)
{
    return json_is_object(v) && !json_object_get(v, "attr") ? json_string_value(json_object_get(v, "$ref")) : NULL;
}

/* note [moved references]: what referred to a moved resource refers to it
 * still: the state's {"$ref": "network.main"} is the spec's
 * {"$ref": "network.core"} once network.main moved there, so neither the
 * reference nor what holds it changes. */
bool mk_moves_same(const mk_moves *m, json_t *want, json_t *had, int depth)
{
    const char *wa = ref_of(want), *ha = ref_of(had);
    if (wa && ha) {
        const char *now = mk_sym_get(&m->by_from, mk_intern_s(m->p->ast.names, ha), NULL);
        return strcmp(wa, now ? now : ha) == 0;
    }
    if (depth > 64 || json_typeof(want) != json_typeof(had))
        return false;
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(want)) {
        if (json_array_size(want) != json_array_size(had))
            return false;
        json_array_foreach(want, i, x) if (!mk_moves_same(m, x, json_array_get(had, i), depth + 1)) return false;
        return true;
    }
    if (json_is_object(want) && json_object_size(want) == json_object_size(had)) {
        json_object_foreach(want, k, x) {
            json_t *y = json_object_get(had, k);
            if (!y || !mk_moves_same(m, x, y, depth + 1))
                return false;
        }
        return true;
    }
    return mk_vjson_same(want, had);
}

void mk_moves_free(mk_moves *m)
{
    if (!m)
        return;
    mk_sym_free(&m->by_to);
    mk_sym_free(&m->by_from);
    mk_mem_free(m->hits);
    mk_mem_free(m);
}
