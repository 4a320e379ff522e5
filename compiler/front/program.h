/* program — one compilation: the files of a stack with everything they
 * import, the stdlib, the modules they instantiate, and, after evaluation,
 * the desired resources; and the loader (program.c) that builds it.
 *
 * mk_program owns the arena, names, sources, diagnostics and types of the
 * compilation; everything reachable from it lives until mk_program_free.
 * A unit is one namespace: the root stack, or one instance of a module.
 * The evaluator's result is `instances`: every desired resource instance
 * with its address, evaluated attributes and dependency edges, in an order
 * where dependencies come first. That is the input of the planner. */
#ifndef MK_PROGRAM_H
#define MK_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler/front/ast.h"
#include "compiler/base/diag.h"
#include "compiler/base/source.h"
#include "compiler/base/symtab.h"
#include "compiler/front/types.h"
#include "compiler/front/value.h"

typedef struct mk_unit mk_unit;
typedef struct mk_resource mk_resource;
typedef struct mk_instance mk_instance;

typedef enum { MK_EV_NEW, MK_EV_BUSY, MK_EV_DONE } mk_evstate;

/* note [memoised edges]: the instances a memoised value (a let, a variable
 * a module block gives, an output) was computed from. A value is computed
 * once, outside any instance, so the references made while computing it are
 * recorded here, and whoever reads the value takes them as its own edges:
 * a resource that reads `module.net.id`, or a let holding
 * `network.main.id`, depends on network.main. */
typedef struct mk_deps {
    mk_instance **v;
    uint32_t n, cap;
} mk_deps;

struct mk_instance {
    mk_resource *res;
    const char *address;     /* compute.web[1], module.net.network.main */
    mk_value *key;           /* count index (int), for_each key (string), or NULL */
    mk_value *each_value;    /* for_each value */
    mk_value *attrs;         /* map: set attributes, defaults, computed as unknown */
    mk_instance **deps;      /* instances this one refers to (no repeats) */
    uint32_t ndeps, capdeps;
    const void *dep_mark;    /* the edge list last checked for it (eval.c, depend_all) */
    mk_name provider;        /* `provider =` alias, or the type's namespace (local), or NULL */
    const char *self_hosted; /* a `database` a postgres provider takes: its connection's name (front/route.c); NULL for a cloud's */
    /* a `bucket` an s3 or azure_blob block serves (front/route.c): that
     * block's kind, and the cloud and region it is placed and priced in
     * (region NULL while the block's is not known); all NULL otherwise */
    const char *via, *pin_cloud, *pin_region;
    bool prevent_destroy, create_before_destroy;
    mk_value *ignore_changes; /* list of attribute names, or NULL */
    const char *drift;       /* lifecycle.drift: "report" or "ignore"; NULL for the default, "correct" (docs/drift.md) */
    mk_value *placement;     /* map, or NULL */
    mk_value *usage;         /* map checked against TYPE_usage, or NULL */
    bool failed;             /* an error was reported for it */
    mk_value *test_action, *test_cost; /* in policy tests: its change and price */
};

struct mk_resource {
    mk_ast *decl;
    mk_name type, name;
    mk_type *schema;          /* NULL when the type is unknown (reported) */
    mk_unit *unit;
    mk_evstate state;
    bool counted, each;       /* has count / for_each */
    bool unknown_count;       /* count or for_each not known (check without values) */
    mk_instance **inst;
    uint32_t ninst;
    mk_value *value;          /* what a reference to it evaluates to */
};

typedef struct mk_let {
    mk_ast *decl;
    mk_evstate state;
    mk_value *value;
    mk_deps deps;             /* note [memoised edges] */
    struct mk_var *missing;   /* destroy: a variable without a value it read (note [destroy variables]) */
} mk_let;

typedef struct mk_var {
    mk_ast *decl;
    mk_type *type;
    mk_evstate state;
    mk_value *value;
    mk_value *given;          /* from --var-file, env or --var; NULL if none */
    const char *given_from;   /* "--var", "MOKSHA_VAR_x", "vars.yaml", "module NAME" */
    mk_ast *arg;              /* the module block's attribute or block that sets it, or NULL */
    mk_unit *arg_unit;        /* where that is evaluated (on first use: note [lazy modules]) */
    mk_deps deps;             /* of its default or module argument: note [memoised edges] */
    mk_span given_at;         /* where the given value is written, when has_given_at */
    bool has_given_at;
} mk_var;

typedef struct mk_output {
    mk_ast *decl;
    mk_unit *unit;
    mk_evstate state;
    mk_value *value;
    mk_deps deps;             /* note [memoised edges] */
} mk_output;

struct mk_unit {
    const char *dir;          /* directory of the unit's files */
    const char *prefix;       /* "" or "module.NAME." */
    mk_unit *parent;
    mk_ast **files;
    uint32_t nfiles, capfiles;
    mk_ast *stack;            /* the `stack` block, or NULL */
    mk_name stack_name;
    mk_value *stack_value;    /* map: the block's attributes and `name` */
    mk_symtab lets, vars, resources, modules, providers;
    mk_resource **res_order;  /* declaration order */
    uint32_t nres, capres;
    mk_var **var_order;
    uint32_t nvars, capvars;
    mk_let **let_order;
    uint32_t nlets, caplets;
    mk_output *outputs;
    uint32_t noutputs, capoutputs;
    mk_ast **policies, **tests;
    uint32_t npolicies, ntests, cappolicies, captests;
    mk_value *module_args;    /* module units: map of argument values */
    mk_value *provider_values; /* alias → {type, settings}, after evaluation */
    mk_ast *test_decl;        /* test units: their `test` block */
    mk_unit **test_units;     /* the evaluated unit of each of `tests` */
    mk_ast *module_decl;
};

/* A `moved { from, to }` or `import { to, id }` block of the root stack,
 * read by front/moved.c after evaluation: addresses as written (never
 * evaluated, so no edge and no need for `from` to exist), the id as
 * evaluated (NULL when not known, or for a `moved`). */
typedef struct mk_relocation {
    mk_ast *decl;             /* NULL for `moksha import`'s */
    bool import;              /* an `import` block; else a `moved` one */
    const char *from, *to;    /* from: NULL for an import */
    const char *id;
    mk_span at, from_at, to_at, id_at; /* the block's, and its attributes' values' */
} mk_relocation;

/* An `outputs NAME { … }` block of the root stack: outputs of another
 * stack (or of this one's other environment), read through the executor
 * before evaluation, each with the type the block declares for it
 * (docs/language.md, "Reading another stack's outputs"). */
typedef struct mk_stack_read {
    mk_ast *decl;
    mk_name name;             /* outputs.NAME: the stack's name */
    const char *stack;        /* the same, as the executor is asked for it */
    const char *env;          /* its `env`, or NULL: this plan's environment */
    struct json_t *got;       /* the executor's answer {stack, env, lineage, serial, outputs} (owned), NULL: not read */
    const char *why;          /* why it could not be read (reported once, at the block), or NULL */
    mk_value *value;          /* the outputs declared, as a map, once evaluated */
    bool reported;
} mk_stack_read;

/* A policy pack loaded (note [policy packs] in program.c). */
typedef struct mk_pack {
    const char *name;
    char digest[65];
} mk_pack;

typedef struct mk_program {
    mk_ast_ctx ast;           /* arena and names */
    mk_srcset src;
    mk_diag *diag;
    mk_typetab *types;
    mk_vctx v;
    const char *share_dir;    /* where stdlib/ and policies/ live */
    mk_unit *root;
    mk_pack *packs;           /* the policy packs loaded, in order (mk_mem) */
    size_t npacks;
    mk_ast **stdlib_files;
    uint32_t nstdlib, capstdlib;
    /* evaluation result */
    mk_instance **instances;
    size_t ninstances, capinst;
    bool strict;              /* plan: a variable without a value is an error */
    bool destroy_vars;        /* destroy: only a variable a provider block reads needs a value */
    const char *env;          /* --env: stack.env over the stack block's `env`, and the plan's `env`; NULL for none */
    bool vars_merge;          /* an environment's layers: a map given over a map merges (note [env layers] in pipeline.c) */
    struct mk_state *state;   /* applied state, when planning: computed attributes already known */
    const struct mk_observed *observed; /* the executor's observations, when planning: an object gone outside moksha has none known */
    mk_unit **units;          /* every unit, for freeing their tables */
    size_t nunits, capunits;
    struct mk_loaded *seen;   /* real paths already loaded */
    mk_symtab by_address;     /* address → instance, built on first use */
    mk_ast **reloc_decls;     /* the `moved` and `import` blocks, as indexed */
    uint32_t nreloc_decls, capreloc_decls;
    mk_relocation *relocs;    /* the well-formed ones (front/moved.c) */
    uint32_t nrelocs;
    mk_stack_read *reads;     /* the `outputs` blocks, in order */
    uint32_t nreads, capreads;
    /* the plugins' schemas the root stack's `provider plugin` blocks
     * name (note [plugin schema] in program.c): their types are loaded,
     * and each block's settings record the digest */
    struct mk_plugin_schema { const char *name, *digest; } *plugin_schemas;
    uint32_t nplugin_schemas;
    /* loaded file ids, for the inputs digest */
    uint32_t *file_ids;
    uint32_t nfile_ids;
} mk_program;

mk_program *mk_program_new(void);
void mk_program_free(mk_program *p);

/* Load the stack: `paths` are files or directories (a directory means its
 * *.moksha files, sorted); with none, the current directory. Loads the
 * stdlib, follows imports, indexes declarations. False if nothing usable. */
bool mk_program_load(mk_program *p, const char *const *paths, size_t npaths);

/* The name of the stack `paths` hold (as mk_program_load reads them), from
 * its `stack NAME { … }` block ("stack" for `stack { … }` or none), found
 * by lexing the files up to that block only, without parsing or the stdlib:
 * for the executor, which keys a state by it (docs/state.md), before the
 * state is read. False, with out empty, when the paths hold no readable
 * .moksha file. */
bool mk_program_stack_name(const char *const *paths, size_t npaths, char *out, size_t outlen);

/* The desired instance at an address, or NULL (after evaluation). */
mk_instance *mk_program_instance(mk_program *p, const char *address);

/* The digest ("sha256:…") of the schema of plugin name, or NULL. */
const char *mk_program_plugin_schema(const mk_program *p, const char *name);

/* Load more files into the root unit, as `import` does (--policies DIR). */
void mk_program_import(mk_program *p, const char *path);

/* For the evaluator (eval.c): new units for modules and policy tests. */
mk_unit *mk_unit_new(mk_program *p, const char *dir, const char *prefix, mk_unit *parent);
void mk_unit_index(mk_program *p, mk_unit *u, mk_ast *file);
/* Parse and index a module's directory into a new unit. */
mk_unit *mk_program_load_module(mk_program *p, mk_unit *parent, mk_ast *decl);

#endif
