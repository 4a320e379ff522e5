#include <stdio.h>
#include <stdlib.h>
#include "compiler/mem.h"
#include "compiler/diag.h"
#include "compiler/parse.h"
#include "compiler/ast.h"
_Noreturn void mk_mem_oom(void) { fputs("moksha: error: out of memory\n", stderr); exit(1); }
int main(int argc, char **argv)
{
    mk_srcset src; mk_src_init(&src);
    mk_diag *d = mk_diag_new(&src);
    mk_ast_ctx ast = {mk_arena_new(), NULL};
    ast.names = mk_intern_new(ast.arena);
    for (int i = 1; i < argc; i++) {
        int64_t id = mk_src_load(&src, argv[i]);
        if (id < 0) { perror(argv[i]); continue; }
        mk_source *f = mk_src_get(&src, (uint32_t)id);
        mk_ast *root = mk_parse_file(&ast, d, (uint32_t)id, f->text, (uint32_t)f->len);
        printf("%s: %u items\n", argv[i], root->kids.n);
    }
    mk_diag_print(d, stderr, MK_DIAG_TEXT, false);
    return mk_diag_errors(d) ? 1 : 0;
}
