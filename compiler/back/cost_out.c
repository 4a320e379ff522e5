/* cost_out — the cost model's verdict shown to people: `moksha cost`'s
 * report as text, a markdown pull-request comment or JSON, and --explain's
 * list of each resource's placement candidates and why the winner won (for
 * `moksha cost` and `moksha plan`). It renders a report (compiler/middle/cost.h)
 * and decides nothing: pricing and placing are the cost model's. */
#include "compiler/back/cost_out.h"

#include <string.h>

#include "compiler/back/md.h"
#include "compiler/base/buf.h"
#include "compiler/base/money.h"
#include "compiler/front/program.h"
#include "compiler/front/vjson.h"

static json_t *quote_json(const mk_place_item *it)
{
    const mk_cost_quote *q = &it->q;
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "address", it->in->address, "type", it->in->res->type,
                          "provider", q->cloud, "region", q->region, "offering", q->offering);
    if (q->status == MK_COST_PRICED)
        json_object_set_new(o, "monthly", mk_vjson_money(q->monthly));
    if (q->why)
        json_object_set_new(o, q->status == MK_COST_PRICED ? "note" : "why", json_string(q->why));
    if (it->in->self_hosted) /* note [off cloud] in middle/cost.h: the connection, not a cloud's price */
        json_object_set_new(o, "self_hosted", json_string(it->in->self_hosted));
    if (it->in->via) /* a bucket a store keeps: priced where that block is */
        json_object_set_new(o, "via", json_pack("{s:s, s:s}", "kind", it->in->via, "provider", it->in->provider));
    return o;
}

static json_t *cands_json(const mk_place_group *g)
{
    json_t *a = json_array();
    for (size_t c = 0; c < g->ncands; c++) {
        const mk_place_cand *cd = &g->cands[c];
        json_t *o = json_pack("{s:s, s:s, s:b}", "provider", cd->cloud, "region", cd->region, "winner", (long)c == g->winner);
        if (cd->ok)
            json_object_set_new(o, "monthly", mk_vjson_money(cd->monthly));
        else
            json_object_set_new(o, "why", json_string(cd->why));
        if (cd->ok && cd->rejected)
            json_object_set_new(o, "rejected", json_string(cd->rejected));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *mk_cost_out_json(const mk_place_report *r, bool explain)
{
    json_t *res = json_array(), *unp = json_array();
    for (size_t i = 0; i < r->nitems; i++) {
        json_t *o = quote_json(&r->items[i]);
        const mk_place_group *g = &r->groups[r->items[i].group];
        if (explain) {
            json_object_set_new(o, "sticky", json_boolean(g->sticky));
            if (g->pinned)
                json_object_set_new(o, "pinned", json_true());
            json_object_set_new(o, "candidates", cands_json(g));
        }
        json_array_append_new(r->items[i].q.status == MK_COST_PRICED ? res : unp, o);
    }
    json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "currency", "USD", "monthly", mk_vjson_money(r->monthly),
                          "applied", mk_vjson_money(r->applied), "delta", mk_vjson_money(r->monthly - r->applied),
                          "resources", res, "unpriced", unp);
    if (r->nself_hosted) /* only when there are: a report without says what it always said */
        json_object_set_new(o, "self_hosted", json_integer((json_int_t)r->nself_hosted));
    return o;
}

/* The candidates of an item's group: the winner, then the others up to a
 * dozen lines (a group placed after widening has a hundred). */
static void explain_text(const mk_place_report *r, const mk_place_item *it, FILE *out)
{
    const mk_place_group *g = &r->groups[it->group];
    if (g->sticky)
        fprintf(out, "    kept where it is applied (--replace-placement %s to move it)\n", it->in->address);
    if (g->pinned && it->in->via)
        fprintf(out, "    kept by provider `%s` (%s): its cloud and region are the only candidate\n", it->in->provider, it->in->via);
    size_t shown = 0, limit = 12;
    for (size_t c = 0; c < g->ncands; c++) {
        const mk_place_cand *cd = &g->cands[c];
        bool won = (long)c == g->winner;
        if (!won && shown >= limit)
            continue;
        shown++;
        char m[MK_MONEY_TEXT];
        mk_money_show(cd->monthly, m);
        if (cd->ok && cd->rejected && !won)
            fprintf(out, "    x %s/%s: %s for its group of %zu, but it breaks %s\n", cd->cloud, cd->region, m, g->n, cd->rejected);
        else if (cd->ok)
            fprintf(out, "    %s %s/%s: %s for its group of %zu%s%s%s\n", won ? "*" : "-", cd->cloud, cd->region, m, g->n,
                    cd->rejected ? " (it breaks " : "", cd->rejected ? cd->rejected : "", cd->rejected ? ")" : "");
        else
            fprintf(out, "    x %s/%s: not a candidate: %s\n", cd->cloud, cd->region, cd->why);
    }
    if (shown < g->ncands)
        fprintf(out, "    … and %zu more candidates (moksha cost --format json --explain lists them all)\n", g->ncands - shown);
}

void mk_cost_out_explain(const mk_place_report *r, FILE *out)
{
    fputs("Placement:\n", out);
    for (size_t i = 0; i < r->nitems; i++) {
        const mk_place_item *it = &r->items[i];
        if (!r->groups[it->group].ncands)
            continue;
        fprintf(out, "  %s → %s/%s%s%s\n", it->in->address, it->q.cloud ? it->q.cloud : "?", it->q.region ? it->q.region : "?",
                it->q.offering ? " " : "", it->q.offering ? it->q.offering : "");
        explain_text(r, it, out);
    }
    fputc('\n', out);
}

/* A table row; the address may hold for_each keys (md.h). */
static void md_row(const char *addr, const char *cloud, const char *region, const char *offering, const char *money,
                   FILE *out)
{
    mk_buf b = {0};
    mk_buf_puts(&b, "| ");
    mk_md_code(&b, addr, true);
    const char *cells[] = {cloud, region, offering, money};
    for (size_t i = 0; i < 4; i++) {
        mk_buf_puts(&b, " | ");
        mk_md_text(&b, cells[i]);
    }
    mk_buf_puts(&b, " |\n");
    fputs(mk_buf_cstr(&b), out);
    mk_buf_free(&b);
}

/* What a line says beside its figure: why it is unpriced, or the note on a
 * price that is not nothing (figures borrowed from another region, extended
 * support), so no output takes a borrowed figure silently, and whose a
 * resource no cloud serves is (note [off cloud] in middle/cost.h: "a file
 * on this machine costs nothing", "self-hosted on connection dev"), so its
 * $0.00 is never taken for a cloud's price. A cloud's free resource's
 * reason stays in the JSON. */
static const char *note_of(const mk_cost_quote *q)
{
    return q->status != MK_COST_PRICED || q->monthly != 0 || q->off_cloud ? q->why : NULL;
}

/* "  (via s3 store)" for a bucket a store keeps, else "". */
static const char *via_text(const mk_instance *in, char *buf, size_t len)
{
    if (!in->via)
        return "";
    snprintf(buf, len, "  (via %s %s)", in->via, in->provider);
    return buf;
}

/* A markdown row of an item; an unpriced one's cell says why, never a
 * bare "unpriced". */
static void md_item(const mk_place_item *it, const char *money, FILE *out)
{
    const mk_cost_quote *q = &it->q;
    mk_buf cell = {0};
    if (q->status != MK_COST_PRICED)
        mk_buf_printf(&cell, "unpriced: %s", q->why ? q->why : "no price");
    else if (note_of(q))
        mk_buf_printf(&cell, "%s (%s)", money, note_of(q));
    if (it->in->via)
        mk_buf_printf(&cell, "%s (via %s %s)", cell.len ? "" : money, it->in->via, it->in->provider);
    md_row(it->in->address, q->cloud ?: "-", q->region ?: "-", q->offering ?: "-", cell.len ? mk_buf_cstr(&cell) : money, out);
    mk_buf_free(&cell);
}

void mk_cost_out_text(const mk_place_report *r, bool explain, bool md, FILE *out)
{
    if (md)
        fprintf(out, "### moksha cost\n\n| resource | provider | region | offering | monthly |\n|---|---|---|---|---:|\n");
    for (size_t i = 0; i < r->nitems; i++) {
        const mk_place_item *it = &r->items[i];
        const mk_cost_quote *q = &it->q;
        char money[MK_MONEY_TEXT] = "unpriced", via[160];
        if (q->status == MK_COST_PRICED)
            mk_money_show(q->monthly, money);
        if (md)
            md_item(it, money, out);
        else
            fprintf(out, "%-32s %-6s %-16s %-22s %10s%s%s%s\n", it->in->address, q->cloud ?: "-", q->region ?: "-",
                    q->offering ?: "-", money, note_of(q) ? "  " : "", note_of(q) ?: "", via_text(it->in, via, sizeof via));
        if (explain && !md)
            explain_text(r, it, out);
    }
    char total[MK_MONEY_TEXT], delta[MK_MONEY_TEXT], applied[MK_MONEY_TEXT];
    mk_money_show(r->monthly, total), mk_money_show(r->applied, applied);
    mk_money_signed(r->monthly - r->applied, delta);
    char hosted[64] = ""; /* only when there are: a report without says what it always said */
    if (r->nself_hosted)
        snprintf(hosted, sizeof hosted, "; %zu self-hosted (not a cloud's price)", r->nself_hosted);
    if (md)
        fprintf(out, "\n**Total: %s/month** (%s against the applied state)%s%s\n", total, delta,
                r->nunpriced ? "; some resources are unpriced" : "", hosted);
    else
        fprintf(out, "\ntotal: %s/month, delta %s against applied (%s); %zu unpriced%s\n", total, delta, applied,
                r->nunpriced, hosted);
}

