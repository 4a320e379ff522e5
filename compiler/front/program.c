/* program — the loader: finding, reading and parsing the files of a
 * compilation, following imports, and indexing each unit's declarations
 * into its symbol tables (base/symtab).
 * Duplicate declarations and items in the wrong place are reported here. */
#include "compiler/front/program.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "compiler/base/mem.h"
#include "compiler/front/lex.h"
#include "compiler/front/parse.h"
#include "parser.h"

/* ---- program ---- */

typedef struct mk_loaded {
    char *real;
    mk_unit *unit;
    struct mk_loaded *next;
} loaded;

mk_program *mk_program_new(void)
{
    mk_program *p = mk_mem_calloc(1, sizeof *p);
    p->ast.arena = mk_arena_new();
    p->ast.names = mk_intern_new(p->ast.arena);
    mk_src_init(&p->src);
    p->diag = mk_diag_new(&p->src);
    p->types = mk_type_tab_new(&p->ast, p->diag);
    p->v.arena = p->ast.arena;
    p->v.names = p->ast.names;
    const char *share = getenv("MOKSHA_SHARE");
    p->share_dir = share && *share ? share : MK_SHARE_DIR;
    return p;
}

static void unit_free(mk_unit *u)
{
    mk_sym_free(&u->lets);
    mk_sym_free(&u->vars);
    mk_sym_free(&u->resources);
    mk_sym_free(&u->modules);
    mk_sym_free(&u->providers);
}

void mk_program_free(mk_program *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nunits; i++)
        unit_free(p->units[i]);
    mk_mem_free(p->units);
    for (loaded *l = p->seen, *n; l; l = n) {
        n = l->next;
        mk_mem_free(l->real);
        mk_mem_free(l);
    }
    for (uint32_t i = 0; i < p->nreads; i++)
        json_decref(p->reads[i].got);
    mk_mem_free(p->instances);
    mk_sym_free(&p->by_address);
    mk_mem_free(p->file_ids);
    mk_mem_free(p->packs);
    mk_type_tab_free(p->types);
    mk_diag_free(p->diag);
    mk_src_fini(&p->src);
    mk_intern_free(p->ast.names);
    mk_arena_free(p->ast.arena);
    mk_mem_free(p);
}

mk_unit *mk_unit_new(mk_program *p, const char *dir, const char *prefix, mk_unit *parent)
{
    mk_unit *u = mk_arena_alloc(p->ast.arena, sizeof *u);
    u->dir = dir;
    u->prefix = prefix;
    u->parent = parent;
    if (p->nunits == p->capunits) {
        p->capunits = p->capunits ? p->capunits * 2 : 8;
        p->units = mk_mem_realloc(p->units, p->capunits * sizeof *p->units);
    }
    p->units[p->nunits++] = u;
    return u;
}

#define PUSH(arr, n, cap, x)                                                            \
    do {                                                                                \
        if ((n) == (cap)) {                                                             \
            uint32_t nc_ = (cap) ? (cap) * 2 : 8;                                       \
            (arr) = mk_arena_grow(p->ast.arena, (arr), (cap) * sizeof *(arr), nc_ * sizeof *(arr)); \
            (cap) = nc_;                                                                \
        }                                                                               \
        (arr)[(n)++] = (x);                                                             \
    } while (0)

/* ---- files ---- */

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static char *join(mk_program *p, const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
        return mk_arena_strndup(p->ast.arena, name, strlen(name));
    return mk_arena_printf(p->ast.arena, "%s/%s", dir, name);
}

static char *dir_of(mk_program *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ".";
    return mk_arena_strndup(p->ast.arena, path, (size_t)(slash - path));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The *.moksha files of a directory, sorted; NULL with errno on failure. */
static char **list_dir(mk_program *p, const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **v = NULL;
    size_t cap = 0;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".moksha"))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            v = mk_arena_grow(p->ast.arena, v, *n * sizeof *v, cap * sizeof *v);
        }
        v[(*n)++] = join(p, dir, e->d_name);
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_str);
    return v ? v : mk_arena_alloc(p->ast.arena, sizeof *v);
}

/* Once per unit and real path: a file imported twice is read once. */
static bool first_time(mk_program *p, mk_unit *u, const char *path)
{
    char buf[PATH_MAX];
    const char *r = realpath(path, buf) ? buf : path;
    for (loaded *l = p->seen; l; l = l->next)
        if (l->unit == u && strcmp(l->real, r) == 0)
            return false;
    loaded *l = mk_mem_alloc(sizeof *l);
    l->unit = u;
    l->real = mk_mem_strdup(r);
    l->next = p->seen;
    p->seen = l;
    return true;
}

static mk_ast *parse_path(mk_program *p, const char *path, mk_span from)
{
    int64_t id = mk_src_load(&p->src, path);
    if (id < 0) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0010", from, "cannot read `%s`: %s", path,
                                         errno == EFBIG ? "file larger than 512 MiB" : strerror(errno));
        if (errno == ENOENT)
            mk_diag_help(it, "check the path; moksha reads *.moksha files");
        return NULL;
    }
    size_t sl = strlen(p->share_dir);
    if (strncmp(path, p->share_dir, sl) == 0 && path[sl] == '/') /* stdlib/…, policies/… wherever installed */
        mk_src_rename(&p->src, (uint32_t)id, path + sl + 1);
    mk_source *f = mk_src_get(&p->src, (uint32_t)id);
    if (f->len > UINT32_MAX - 1) {
        mk_diag_error(p->diag, "E0010", from, "`%s` is too large", path);
        return NULL;
    }
    p->file_ids = mk_mem_realloc(p->file_ids, (p->nfile_ids + 1) * sizeof *p->file_ids);
    p->file_ids[p->nfile_ids++] = (uint32_t)id;
    return mk_parse_file(&p->ast, p->diag, (uint32_t)id, f->text, (uint32_t)f->len);
}

/* note [policy packs]: a directory of policies loaded as a unit — an
 * imported directory (`import "policies/security"`) or `--policies DIR` —
 * is a pack, recorded in the plan's `policy_packs` with its digest, so
 * that an executor can demand that a plan was checked against the packs
 * it names (docs/trust.md, "Rules per environment"). The digest is
 * SHA-256 over, for each .moksha file directly in it by name, its name, a
 * 0 byte, its size in decimal, a 0 byte and its bytes — the bytes parsed,
 * from the source set, never read again (moksha policy digest DIR says
 * the same of a directory on disk). The name is the directory as shown
 * (relative to the share directory for the library's). Once each. */
static void note_pack(mk_program *p, const char *dir, char **files, size_t n)
{
    size_t sl = strlen(p->share_dir);
    const char *name = strncmp(dir, p->share_dir, sl) == 0 && dir[sl] == '/' ? dir + sl + 1 : dir;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < n; i++) {
        int64_t id = mk_src_find(&p->src, files[i]);
        if (id < 0) { /* not loaded (an error was said): no digest to vouch for */
            ok = false;
            break;
        }
        const mk_source *f = mk_src_get(&p->src, (uint32_t)id);
        const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
        char size[32];
        int sn = snprintf(size, sizeof size, "%zu", f->len);
        ok = EVP_DigestUpdate(md, base, strlen(base) + 1) && EVP_DigestUpdate(md, size, (size_t)sn + 1) &&
             EVP_DigestUpdate(md, f->text, f->len);
    }
    unsigned char d[32];
    unsigned dn = 0;
    ok = ok && EVP_DigestFinal_ex(md, d, &dn) && dn == 32;
    EVP_MD_CTX_free(md);
    if (!ok)
        return;
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    for (size_t i = 0; i < p->npacks; i++)
        if (strcmp(p->packs[i].name, name) == 0)
            return;
    p->packs = mk_mem_realloc(p->packs, (p->npacks + 1) * sizeof *p->packs);
    p->packs[p->npacks].name = mk_arena_strndup(p->ast.arena, name, strlen(name));
    memcpy(p->packs[p->npacks++].digest, hex, 65);
}

/* Load a file or every file of a directory into unit u. A path given or
 * imported that holds no .moksha file is an error rather than an empty,
 * passing stack: `check /dev/null`, an import of an empty directory and an
 * empty `--policies DIR` would otherwise check nothing and say ok. */
static void load_into(mk_program *p, mk_unit *u, const char *path, mk_span from, bool pack)
{
    struct stat st;
    bool found = stat(path, &st) == 0;
    if (found && S_ISDIR(st.st_mode)) {
        size_t n;
        char **files = list_dir(p, path, &n);
        if (!files) {
            mk_diag_error(p->diag, "E0010", from, "cannot read directory `%s`: %s", path, strerror(errno));
            return;
        }
        if (n == 0) {
            mk_diag_item *it = mk_diag_error(p->diag, "E0010", from, "no .moksha files in `%s`", path);
            mk_diag_help(it, "a stack, an import or a --policies directory holds NAME.moksha files");
            return;
        }
        for (size_t i = 0; i < n; i++)
            load_into(p, u, files[i], from, pack);
        if (pack)
            note_pack(p, path, files, n);
        return;
    }
    if (found && (!S_ISREG(st.st_mode) || !has_suffix(path, ".moksha"))) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0010", from, "`%s` is not a .moksha file", path);
        mk_diag_help(it, "give a NAME.moksha file or a directory that holds them");
        return;
    }
    if (!first_time(p, u, path))
        return;
    mk_ast *file = parse_path(p, path, from);
    if (!file)
        return;
    PUSH(u->files, u->nfiles, u->capfiles, file);
    mk_unit_index(p, u, file);
}

static void load_stdlib(mk_program *p)
{
    char *dir = mk_arena_printf(p->ast.arena, "%s/stdlib/types", p->share_dir);
    size_t n;
    char **files = list_dir(p, dir, &n);
    if (!files || n == 0) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0010", MK_NOSPAN, "cannot find the standard library in `%s`", dir);
        mk_diag_help(it, "set MOKSHA_SHARE to the directory that holds stdlib/ and policies/");
        return;
    }
    mk_unit *prelude = mk_unit_new(p, dir, "", NULL);
    for (size_t i = 0; i < n; i++) {
        mk_ast *f = parse_path(p, files[i], MK_NOSPAN);
        if (!f)
            continue;
        PUSH(p->stdlib_files, p->nstdlib, p->capstdlib, f);
        mk_unit_index(p, prelude, f);
    }
}

/* A string literal attribute of a block, or NULL (with *other set when
 * it is there and not a literal). */
static const mk_ast *literal_attr(const mk_ast *decl, const char *name, bool *other)
{
    for (uint32_t i = 0; i < decl->kids.n; i++) {
        const mk_ast *it = decl->kids.v[i];
        if (it->kind != MK_AST_ATTR || strcmp(it->name, name) != 0 || !it->b)
            continue;
        if (it->b->kind == MK_AST_STRING)
            return it->b;
        *other = true;
        return NULL;
    }
    return NULL;
}

static void schema_digest(const mk_source *f, char out[80])
{
    unsigned char d[32];
    unsigned int n = 32;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, f->text, f->len);
    EVP_DigestFinal_ex(md, d, &n);
    EVP_MD_CTX_free(md);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", d[i]);
}

/* Every item of a plugin's schema is a type of its own namespace: the
 * file can add NAME.* types and nothing else (no resource, no provider,
 * no type another plugin or the stdlib owns). */
static void schema_items(mk_program *p, mk_ast *file, const char *name, const char *path)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < file->kids.n; i++) {
        mk_ast *it = file->kids.v[i];
        if (it->kind == MK_AST_TYPEDECL && strncmp(it->name, name, nl) == 0 && it->name[nl] == '.' && it->name[nl + 1]) {
            mk_type_declare(p->types, it);
            continue;
        }
        mk_diag_item *d = mk_diag_error(p->diag, "E0130", it->span, "plugin %s's schema %s may declare only types "
                                        "%s.NAME", name, path, name);
        mk_diag_help(d, "a plugin's schema.moksha holds `@resource type %s.THING { … }` declarations, nothing else",
                     name);
    }
}

/* note [plugin schema]: `provider plugin X { plugin = "NAME", source =
 * "DIR" }` makes the compiler read DIR/schema.moksha (default
 * plugins/NAME, relative to the stack) for the types NAME.* — the plugin's
 * program is never run here. Both are string literals: the types must be
 * known before anything is evaluated. The schema's digest goes into the
 * block's settings (eval.c), and the executor refuses a plan whose digest
 * is not its allowlisted folder's schema. */
static void load_plugin_schemas(mk_program *p)
{
    mk_unit *u = p->root;
    for (uint32_t i = 0; u && i < u->providers.cap; i++) {
        mk_ast *decl = u->providers.slots[i].v;
        if (!u->providers.slots[i].a || !decl || strcmp(decl->name, "plugin") != 0)
            continue;
        bool np = false, ns = false;
        const mk_ast *nm = literal_attr(decl, "plugin", &np), *src = literal_attr(decl, "source", &ns);
        if (!nm && !np && !ns)
            continue; /* (the block's type says `plugin` is missing) */
        if (np || ns || !nm) {
            mk_diag_item *d = mk_diag_error(p->diag, "E0130", decl->span, "a plugin provider block's %s",
                                            np && ns ? "`plugin` and `source` must be string literals"
                                            : ns ? "`source` must be a string literal"
                                            : "`plugin` must be a string literal");
            mk_diag_help(d, "write `provider plugin %s { plugin = \"NAME\" }`: its schema is read before anything "
                         "is evaluated", decl->name2 ? decl->name2 : "X");
            continue;
        }
        const char *name = nm->str;
        if (mk_program_plugin_schema(p, name))
            continue;
        const char *rel = src ? src->str : mk_arena_printf(p->ast.arena, "plugins/%s", name);
        const char *path = mk_arena_printf(p->ast.arena, "%s/schema.moksha", join(p, u->dir, rel));
        /* docs/plugins.md "The schema": a relative source stays in the
         * stack (an absolute one is explicit), and the schema is the
         * folder's own file, not a link to one elsewhere */
        bool up = false;
        for (const char *c = rel; rel[0] != '/' && c && *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL)
            up = up || (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == 0));
        struct stat ls;
        if (up || (lstat(path, &ls) == 0 && !S_ISREG(ls.st_mode))) {
            mk_diag_item *d = mk_diag_error(p->diag, "E0130", src ? src->span : nm->span, "plugin %s's schema `%s` "
                                            "%s: not read", name, path, up ? "is outside the stack (`..` in a relative "
                                            "`source`)" : S_ISLNK(ls.st_mode) ? "is a symlink" : "is not a regular file");
            mk_diag_help(d, "a plugin's folder holds its own schema.moksha; name a folder outside the stack by its "
                         "absolute path");
            continue;
        }
        int64_t id = mk_src_load(&p->src, path);
        if (id < 0) {
            mk_diag_item *d = mk_diag_error(p->diag, "E0130", src ? src->span : nm->span, "cannot read plugin %s's "
                                            "schema `%s`: %s", name, path, strerror(errno));
            mk_diag_help(d, "a plugin's folder holds its program (plugin) and its types (schema.moksha); set "
                         "`source` to that folder");
            continue;
        }
        mk_source *f = mk_src_get(&p->src, (uint32_t)id);
        char dg[80];
        schema_digest(f, dg);
        p->plugin_schemas = mk_arena_grow(p->ast.arena, p->plugin_schemas,
                                          p->nplugin_schemas * sizeof *p->plugin_schemas,
                                          (p->nplugin_schemas + 1) * sizeof *p->plugin_schemas);
        p->plugin_schemas[p->nplugin_schemas++] = (struct mk_plugin_schema){name, mk_arena_printf(p->ast.arena, "%s", dg)};
        p->file_ids = mk_mem_realloc(p->file_ids, (p->nfile_ids + 1) * sizeof *p->file_ids);
        p->file_ids[p->nfile_ids++] = (uint32_t)id;
        mk_ast *file = mk_parse_file(&p->ast, p->diag, (uint32_t)id, f->text, (uint32_t)f->len);
        if (file)
            schema_items(p, file, name, path);
    }
}

const char *mk_program_plugin_schema(const mk_program *p, const char *name)
{
    for (uint32_t i = 0; i < p->nplugin_schemas; i++)
        if (strcmp(p->plugin_schemas[i].name, name) == 0)
            return p->plugin_schemas[i].digest;
    return NULL;
}

bool mk_program_load(mk_program *p, const char *const *paths, size_t npaths)
{
    load_stdlib(p);
    const char *dir = npaths == 1 ? paths[0] : ".";
    struct stat st;
    if (npaths == 1 && !(stat(paths[0], &st) == 0 && S_ISDIR(st.st_mode)))
        dir = dir_of(p, paths[0]);
    p->root = mk_unit_new(p, dir, "", NULL);
    if (npaths == 0) {
        size_t n;
        char **files = list_dir(p, ".", &n);
        if (!files || n == 0) {
            mk_diag_item *it = mk_diag_error(p->diag, "E0010", MK_NOSPAN, "no .moksha files in this directory");
            mk_diag_help(it, "run moksha in a stack's directory, or use -C DIR");
            return false;
        }
        for (size_t i = 0; i < n; i++)
            load_into(p, p->root, files[i], MK_NOSPAN, false);
    }
    for (size_t i = 0; i < npaths; i++)
        load_into(p, p->root, paths[i], MK_NOSPAN, false);
    load_plugin_schemas(p);
    mk_type_resolve_all(p->types);
    return p->root->nfiles > 0;
}

/* The stack name in text (as file_stack_name says), lexed up to it. */
static bool text_stack_name(mk_program *p, uint32_t id, char *out, size_t outlen)
{
    mk_source *f = mk_src_get(&p->src, id);
    mk_lexer lx;
    mk_lex_init(&lx, &p->ast, p->diag, id, f->text, (uint32_t)f->len);
    mk_tok t;
    mk_span sp;
    for (int k = mk_lex_next(&lx, &t, &sp); k; k = mk_lex_next(&lx, &t, &sp)) {
        if (k != KW_STACK || lx.depth != 0)
            continue;
        mk_tok name;
        int after = mk_lex_next(&lx, &name, &sp);
        if (after == '{' || (after == IDENT && mk_lex_next(&lx, &t, &sp) == '{')) {
            snprintf(out, outlen, "%s", after == IDENT ? name.name : "stack");
            return true;
        }
    }
    return false;
}

/* One file's stack name into out: the IDENT after a top-level `stack`
 * that opens a block ("stack" for `stack { … }`); false when the file has
 * no such block (*read false too when it cannot be read). A stack's block
 * comes first, so its first 64 KiB are read and lexed, and the whole file
 * only when they hold no block: a big stack costs a few tokens, not a
 * second copy of its text. A block found in the prefix is whole (its `{`
 * came after the name), and a token the cut splits matches nothing. */
static bool file_stack_name(mk_program *p, const char *path, char *out, size_t outlen, bool *read)
{
    char head[65536];
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(head, 1, sizeof head, fp) : 0;
    if (!fp || ferror(fp)) {
        if (fp)
            fclose(fp);
        return false;
    }
    fclose(fp);
    *read = true;
    if (text_stack_name(p, mk_src_add(&p->src, path, head, n), out, outlen))
        return true;
    if (n < sizeof head) /* the whole file, read */
        return false;
    int64_t id = mk_src_load(&p->src, path);
    return id >= 0 && mk_src_get(&p->src, (uint32_t)id)->len <= UINT32_MAX - 1 && text_stack_name(p, (uint32_t)id, out, outlen);
}

bool mk_program_stack_name(const char *const *paths, size_t npaths, char *out, size_t outlen)
{
    mk_program *p = mk_mem_calloc(1, sizeof *p); /* (no types, no stdlib: only the lexer's arena and names) */
    p->ast.arena = mk_arena_new();
    p->ast.names = mk_intern_new(p->ast.arena);
    mk_src_init(&p->src);
    p->diag = mk_diag_new(&p->src);
    static const char *const here[] = {"."};
    bool any = false, found = false;
    for (size_t i = 0; i < (npaths ? npaths : 1) && !found; i++) {
        const char *path = npaths ? paths[i] : here[0];
        struct stat st;
        size_t n = 1;
        char **files = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? list_dir(p, path, &n) : (char **)&path;
        for (size_t j = 0; files && j < n && !found; j++)
            found = file_stack_name(p, files[j], out, outlen, &any);
    }
    if (!found)
        snprintf(out, outlen, "%s", any ? "stack" : "");
    mk_diag_free(p->diag);
    mk_src_fini(&p->src);
    mk_intern_free(p->ast.names);
    mk_arena_free(p->ast.arena);
    mk_mem_free(p);
    return any;
}

/* ---- imports and modules ---- */

static const char *resolve_import(mk_program *p, mk_unit *u, mk_ast *imp)
{
    const char *rel = imp->str;
    const char *src_dir = dir_of(p, mk_src_get(&p->src, imp->span.file)->path);
    const char *cands[4] = {
        join(p, src_dir, rel),
        mk_arena_printf(p->ast.arena, "%s.moksha", join(p, src_dir, rel)),
        mk_arena_printf(p->ast.arena, "%s/%s", p->share_dir, rel),
        mk_arena_printf(p->ast.arena, "%s/%s.moksha", p->share_dir, rel),
    };
    (void)u;
    struct stat st;
    for (int i = 0; i < 4; i++)
        if (rel[0] != '/' || i < 2)
            if (stat(cands[i], &st) == 0)
                return cands[i];
    return NULL;
}

static void do_import(mk_program *p, mk_unit *u, mk_ast *imp)
{
    if (!imp->str || !*imp->str) {
        mk_diag_error(p->diag, "E0116", imp->span, "empty import path");
        return;
    }
    const char *path = resolve_import(p, u, imp);
    if (!path) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0116", imp->span, "cannot find import \"%s\"", imp->str);
        mk_diag_help(it, "imports are files or directories relative to the importing file, or packs of "
                         "the built-in library such as \"policies/security\"");
        return;
    }
    load_into(p, u, path, imp->span, true);
}

mk_unit *mk_program_load_module(mk_program *p, mk_unit *parent, mk_ast *decl)
{
    const char *src_dir = dir_of(p, mk_src_get(&p->src, decl->span.file)->path);
    const char *path = join(p, src_dir, decl->str ? decl->str : "");
    struct stat st;
    if (!decl->str || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0116", decl->span, "cannot find module directory \"%s\"",
                                         decl->str ? decl->str : "");
        mk_diag_help(it, "a module is a directory of .moksha files, relative to this file");
        return NULL;
    }
    const char *prefix = mk_arena_printf(p->ast.arena, "%smodule.%s.", parent->prefix, decl->name);
    mk_unit *u = mk_unit_new(p, path, prefix, parent);
    u->module_decl = decl;
    size_t n = 0;
    char **files = list_dir(p, path, &n);
    if (!files || n == 0) { /* an empty module is a mistake, not a module of nothing */
        mk_diag_item *it = files ? mk_diag_error(p->diag, "E0010", decl->span, "no .moksha files in module directory `%s`", path)
                                 : mk_diag_error(p->diag, "E0010", decl->span, "cannot read module directory `%s`: %s",
                                                 path, strerror(errno));
        mk_diag_help(it, "a module is a directory of NAME.moksha files");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        /* a module's files are parsed once, then shared by its instances */
        int64_t id = mk_src_find(&p->src, files[i]);
        mk_ast *f = NULL;
        for (size_t k = 0; id >= 0 && k < p->nunits && !f; k++)
            for (uint32_t j = 0; j < p->units[k]->nfiles; j++)
                if (p->units[k]->files[j]->span.file == (uint32_t)id)
                    f = p->units[k]->files[j];
        if (!f)
            f = parse_path(p, files[i], decl->span);
        if (!f)
            continue;
        PUSH(u->files, u->nfiles, u->capfiles, f);
        mk_unit_index(p, u, f);
    }
    mk_type_resolve_all(p->types);
    return u;
}

/* ---- indexing ---- */

static void duplicate(mk_program *p, mk_ast *item, mk_ast *first, const char *what, const char *name)
{
    mk_diag_item *it = mk_diag_error(p->diag, "E0115", item->span, "%s `%s` is declared twice", what, name);
    mk_diag_note(it, first->span, "first declared here");
}

static void misplaced(mk_program *p, mk_ast *item)
{
    mk_diag_item *it = mk_diag_error(p->diag, "E0119", item->span, "%s not allowed at the top level",
                                     item->kind == MK_AST_ATTR ? "an attribute is" : item->kind == MK_AST_BLOCK ? "a block is"
                                     : item->kind == MK_AST_FIELD ? "a field is" : "this statement is");
    switch (item->kind) {
    case MK_AST_ATTR: mk_diag_help(it, "to name a value, write `let %s = …`", item->name); break;
    case MK_AST_FIELD: mk_diag_help(it, "to declare a variable, write `var %s: …`", item->name); break;
    case MK_AST_EXPECT: mk_diag_help(it, "`expect` belongs in a `test` block"); break;
    case MK_AST_FOR: case MK_AST_IF: case MK_AST_ASSERT: case MK_AST_REQUIRE:
        mk_diag_help(it, "policy statements belong in a `policy \"NAME\" { … }` block");
        break;
    default: break;
    }
}

static void index_named(mk_program *p, mk_unit *u, mk_ast *it)
{
    switch (it->kind) {
    case MK_AST_VAR: {
        mk_var *prev = mk_sym_get(&u->vars, it->name, NULL);
        if (prev) { duplicate(p, it, prev->decl, "variable", it->name); return; }
        mk_var *v = mk_arena_alloc(p->ast.arena, sizeof *v);
        v->decl = it;
        mk_sym_put(&u->vars, it->name, NULL, v);
        PUSH(u->var_order, u->nvars, u->capvars, v);
        return;
    }
    case MK_AST_LET: {
        mk_let *prev = mk_sym_get(&u->lets, it->name, NULL);
        if (prev) { duplicate(p, it, prev->decl, "let", it->name); return; }
        mk_let *l = mk_arena_alloc(p->ast.arena, sizeof *l);
        l->decl = it;
        mk_sym_put(&u->lets, it->name, NULL, l);
        PUSH(u->let_order, u->nlets, u->caplets, l);
        return;
    }
    case MK_AST_RESOURCE: {
        mk_name ty = it->a->name;
        mk_resource *prev = mk_sym_get(&u->resources, ty, it->name);
        if (prev) {
            duplicate(p, it, prev->decl, "resource", mk_arena_printf(p->ast.arena, "%s.%s", ty, it->name));
            return;
        }
        mk_resource *r = mk_arena_alloc(p->ast.arena, sizeof *r);
        r->decl = it;
        r->type = ty;
        r->name = it->name;
        r->unit = u;
        mk_sym_put(&u->resources, ty, it->name, r);
        PUSH(u->res_order, u->nres, u->capres, r);
        return;
    }
    case MK_AST_MODULE: case MK_AST_PROVIDER: {
        mk_symtab *t = it->kind == MK_AST_MODULE ? &u->modules : &u->providers;
        mk_name key = it->kind == MK_AST_PROVIDER && it->name2 ? it->name2 : it->name;
        mk_ast *prev = mk_sym_get(t, key, NULL);
        if (prev) { duplicate(p, it, prev, it->kind == MK_AST_MODULE ? "module" : "provider", key); return; }
        mk_sym_put(t, key, NULL, it);
        return;
    }
    default: return;
    }
}

/* `moved { }` and `import { }` say how the root stack's addresses came to
 * be (front/moved.c reads them); a module's addresses are the root's to
 * rename. */
static bool relocation(mk_program *p, mk_unit *u, mk_ast *it)
{
    if (strcmp(it->name, "moved") != 0 && strcmp(it->name, "import") != 0)
        return false;
    if (u != p->root) {
        mk_diag_item *d = mk_diag_error(p->diag, "E0121", it->span, "%s `%s` block belongs in the root stack",
                                        it->name[0] == 'i' ? "an" : "a", it->name);
        mk_diag_help(d, "write it beside the `module` block, with the module's address: module.NAME.TYPE.NAME");
        return true;
    }
    PUSH(p->reloc_decls, p->nreloc_decls, p->capreloc_decls, it);
    return true;
}

/* The `env` of an `outputs` block: a string as written, read before
 * anything is evaluated (the plan asks the executor first). */
static const char *read_word(mk_program *p, mk_ast *attr)
{
    if (attr->b && attr->b->kind == MK_AST_STRING && attr->b->str[0])
        return attr->b->str;
    mk_diag_item *d = mk_diag_error(p->diag, "E0215", attr->b ? attr->b->span : attr->span,
                                    "`%s` of an `outputs` block must be a string as written", attr->name);
    mk_diag_help(d, "the stack's outputs are read before anything is evaluated: write %s = \"NAME\"", attr->name);
    return NULL;
}

/* note [stack reads]: `outputs STACK { env = "…", OUTPUT: TYPE … }` names
 * what the plan asks the executor for (mk_pipeline_plan, before
 * evaluation); the fields are checked against the answer when
 * `outputs.NAME` is first read (mk_eval_stack_read). */
static void stack_read(mk_program *p, mk_unit *u, mk_ast *it)
{
    if (u != p->root) {
        mk_diag_item *d = mk_diag_error(p->diag, "E0215", it->span, "an `outputs` block belongs in the root stack");
        mk_diag_help(d, "read the other stack's outputs in the root stack and pass them to the module as arguments");
        return;
    }
    for (uint32_t i = 0; i < p->nreads; i++)
        if (p->reads[i].name == it->name2) {
            duplicate(p, it, p->reads[i].decl, "outputs block", it->name2);
            return;
        }
    mk_stack_read r = {.decl = it, .name = it->name2, .stack = it->name2};
    for (uint32_t i = 0; i < it->kids.n; i++) {
        mk_ast *k = it->kids.v[i];
        if (k->kind == MK_AST_ATTR && strcmp(k->name, "env") == 0)
            r.env = read_word(p, k);
        else if (k->kind != MK_AST_FIELD || k->b) {
            mk_diag_item *d = mk_diag_error(p->diag, "E0215", k->span, "an `outputs` block holds its `env` and the "
                                            "outputs it reads, each as NAME: TYPE");
            mk_diag_help(d, "declare an output as `vpc_id: string` (no default: it is the other stack's value)");
        }
    }
    PUSH(p->reads, p->nreads, p->capreads, r);
}

void mk_unit_index(mk_program *p, mk_unit *u, mk_ast *file)
{
    /* most items of a big file are resources: size their table once
     * rather than rehash it a dozen times on the way up */
    mk_sym_reserve(&u->resources, u->resources.count + file->kids.n);
    for (uint32_t i = 0; i < file->kids.n; i++) {
        mk_ast *it = file->kids.v[i];
        switch (it->kind) {
        case MK_AST_STACK:
            if (u->stack) { duplicate(p, it, u->stack, "stack", it->name ? it->name : "block"); break; }
            u->stack = it;
            break;
        case MK_AST_IMPORT: do_import(p, u, it); break;
        case MK_AST_TYPEDECL: mk_type_declare(p->types, it); break;
        case MK_AST_OUTPUT: {
            for (uint32_t k = 0; k < u->noutputs; k++)
                if (u->outputs[k].decl->name == it->name) {
                    duplicate(p, it, u->outputs[k].decl, "output", it->name);
                    goto next;
                }
            mk_output o = {.decl = it, .unit = u};
            PUSH(u->outputs, u->noutputs, u->capoutputs, o);
            break;
        }
        case MK_AST_POLICY: {
            for (uint32_t k = 0; k < u->npolicies; k++)
                if (strcmp(u->policies[k]->str, it->str) == 0) {
                    duplicate(p, it, u->policies[k], "policy", it->str);
                    goto next;
                }
            PUSH(u->policies, u->npolicies, u->cappolicies, it);
            break;
        }
        case MK_AST_TEST: {
            PUSH(u->tests, u->ntests, u->captests, it);
            break;
        }
        case MK_AST_VAR: case MK_AST_LET: case MK_AST_RESOURCE: case MK_AST_MODULE: case MK_AST_PROVIDER:
            index_named(p, u, it);
            break;
        case MK_AST_BLOCK:
            if (it->name2) { /* `WORD NAME { }`: only `outputs` parses (parser.y) */
                stack_read(p, u, it);
                break;
            }
            if (relocation(p, u, it))
                break;
            misplaced(p, it);
            break;
        default: misplaced(p, it);
        }
    next:;
    }
}

mk_instance *mk_program_instance(mk_program *p, const char *address)
{
    if (p->by_address.count == 0)
        for (size_t i = 0; i < p->ninstances; i++)
            mk_sym_put(&p->by_address, mk_intern_s(p->ast.names, p->instances[i]->address), NULL, p->instances[i]);
    return mk_sym_get(&p->by_address, mk_intern_s(p->ast.names, address), NULL);
}

void mk_program_import(mk_program *p, const char *path)
{
    if (!p->root)
        return;
    load_into(p, p->root, path, MK_NOSPAN, true);
    mk_type_resolve_all(p->types);
}
