/* cmd_fmt — `moksha fmt`: the files and directories given (else the
 * current directory's .moksha files, in name order) through the formatter
 * (compiler/back/fmt.h), rewritten in place, printed, or only listed with
 * --check. A file with syntax errors is reported and left alone. */
#include "compiler/cli/cmd_fmt.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compiler/back/fmt.h"
#include "compiler/base/atomic.h"
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/front/program.h"

static const char FMT_HELP[] =
    "usage: moksha fmt [--check] [--stdout] [PATH...]\n"
    "\n"
    "Rewrite .moksha files in the canonical layout (the files of the current\n"
    "directory, or the files and directories given). Comments are kept.\n"
    "A file with syntax errors is reported and left alone.\n"
    "\n"
    "options:\n"
    "  --check    change nothing; list files that are not formatted, exit 1 if any\n"
    "  --stdout   print the formatted text instead of writing the files\n"
    "  -h, --help show this help\n"
    "\n"
    "--check --stdout prints the formatted text, lists the files that would change\n"
    "on stderr and exits 1 if any would.\n";

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    mk_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        mk_buf_put(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return mk_buf_take(&b);
}

/* The formatted text over the file, keeping its mode (a formatter changes
 * the layout, not who may read the file). */
static bool rewrite(const char *path, const char *text)
{
    struct iovec part = {(void *)text, strlen(text)};
    return mk_atomic_write(path, &part, 1, MK_ATOMIC_KEEP_MODE);
}

typedef struct fmt_run {
    bool check, to_stdout;
    int unformatted, failed;
} fmt_run;

static void fmt_one(fmt_run *fr, const char *path)
{
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        mk_cli_err("cannot read `%s`: %s", path, strerror(errno));
        fr->failed++;
        return;
    }
    mk_program *p = mk_program_new();
    uint32_t id = mk_src_add(&p->src, path, text, len);
    mk_source *f = mk_src_get(&p->src, id);
    char *out = mk_fmt_source(&p->ast, p->diag, id, f->text, (uint32_t)f->len);
    if (!out) {
        mk_diag_print(p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
        fr->failed++;
    } else if (fr->to_stdout) {
        fputs(out, stdout);
        if (fr->check && strcmp(out, text) != 0) { /* the text is on stdout: the name goes to stderr */
            fr->unformatted++;
            fprintf(stderr, "%s\n", path);
        }
    } else if (strcmp(out, text) != 0) {
        fr->unformatted++;
        if (fr->check)
            printf("%s\n", path);
        else if (!rewrite(path, out)) {
            mk_cli_err("cannot write `%s`: %s", path, strerror(errno));
            fr->failed++;
        }
    }
    mk_mem_free(out);
    mk_mem_free(text);
    mk_program_free(p);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void fmt_path(fmt_run *fr, const char *path);

static void fmt_dir(fmt_run *fr, const char *dir)
{
    mk_program *p = mk_program_new(); /* only for its arena, which holds the paths */
    size_t n = 0, cap = 0;
    char **names = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        mk_cli_err("cannot read directory `%s`: %s", dir, strerror(errno));
        fr->failed++;
        mk_program_free(p);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 8 || strcmp(e->d_name + l - 7, ".moksha") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = mk_mem_realloc(names, cap * sizeof *names);
        }
        names[n++] = strcmp(dir, ".") == 0 ? mk_arena_printf(p->ast.arena, "%s", e->d_name)
                                            : mk_arena_printf(p->ast.arena, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n == 0) { /* nothing formatted is not "all formatted" */
        mk_cli_err("no .moksha files in `%s`", dir);
        fr->failed++;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_cstr);
    for (size_t i = 0; i < n; i++)
        fmt_path(fr, names[i]);
    mk_mem_free(names);
    mk_program_free(p);
}

static void fmt_path(fmt_run *fr, const char *path)
{
    struct stat st;
    bool found = stat(path, &st) == 0;
    size_t l = strlen(path);
    if (found && S_ISDIR(st.st_mode))
        fmt_dir(fr, path);
    else if (found && (!S_ISREG(st.st_mode) || l < 7 || strcmp(path + l - 7, ".moksha") != 0)) {
        mk_cli_err("`%s` is not a .moksha file", path);
        fr->failed++;
    } else
        fmt_one(fr, path);
}

int mk_cmd_fmt(int argc, char **argv)
{
    fmt_run fr = {0};
    const char **paths = NULL;
    size_t npaths = 0;
    const mk_option opts[] = {{"--check", false, .flag = &fr.check}, {"--stdout", false, .flag = &fr.to_stdout}};
    mk_options spec = {"fmt", "fmt", FMT_HELP, opts, 2, .paths = &paths, .npaths = &npaths};
    int parsed = mk_options_parse(&spec, argc, argv); /* all of them first: a bad option formats nothing */
    for (size_t i = 0; parsed == MK_OPTIONS_OK && i < npaths; i++)
        fmt_path(&fr, paths[i]);
    mk_mem_free(paths);
    if (parsed != MK_OPTIONS_OK)
        return parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (npaths == 0)
        fmt_dir(&fr, ".");
    if (fr.check && fr.unformatted)
        fprintf(stderr, "moksha: %d file%s not formatted; run `moksha fmt`\n", fr.unformatted,
                fr.unformatted == 1 ? "" : "s");
    return fr.failed || (fr.check && fr.unformatted) ? EXIT_INPUT : EXIT_OK;
}
