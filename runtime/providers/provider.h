/* provider — the interface between the executor and the backends that
 * change the world. A provider never touches state or the audit log; it
 * performs one operation and says how it went. Operations may run on many
 * worker threads at once: implementations lock what they share.
 *
 * An operation borrows everything in mk_prov_op. On success, create and
 * update set *out to the resource's computed attributes (a new object the
 * caller owns, e.g. {"id": …, "ip": …}); the executor copies those it needs
 * (the change's after_unknown) into the attributes it records. */
#ifndef MK_PROV_PROVIDER_H
#define MK_PROV_PROVIDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct mk_keyring;
struct mk_config;

typedef enum {
    MK_PROV_OK,
    MK_PROV_FAILED,    /* will fail again: do not retry */
    MK_PROV_RETRYABLE  /* transient (throttling, timeouts): retry with backoff */
} mk_prov_status;

/* Capabilities. */
enum {
    MK_PROV_CAN_RECREATE = 1 << 0, /* a deleted object can be made again from its `before` (rollback of delete) */
    MK_PROV_KEEPS_IDS = 1 << 1     /* …and keeps the id it had */
};

typedef struct mk_prov_op {
    const char *address, *type;
    json_t *attrs;                 /* desired attributes (after), or for delete/read the applied ones */
    json_t *prior;                 /* update: the applied attributes; create-from-before: them too; else NULL */
    const char *cloud, *region;    /* abstract types: where it goes */
    double deadline_ms;            /* mk_clock_now_ms() by which to give up (0: none) */
    const struct mk_keyring *keys; /* to open sealed secrets: mk_keyring_open_attr with address and attribute */
    /* create_before_destroy (docs/executor.md): a create with `deposing`
     * set makes the replacement while the object with that id lives on,
     * set aside ("deposed") until its own delete; a delete or create with
     * `deposed` set acts on that set-aside object (delete: retire it;
     * create from `prior`: make it again, still set aside). A create from
     * `prior` whose id is set aside takes it back. Providers whose objects
     * are named by their attributes (local: the path) may ignore both. */
    const char *deposing;
    bool deposed;
    /* create (NULL when the caller does not ask): set true when the
     * address already held an object, which the create took over (made by
     * a run that died before recording it, or forgotten by `state rm`) —
     * it was not made by this call, so taking the create back must not
     * delete it */
    bool *adopted;
    /* docs/drift.md "What a read returns": which stack and which run (the
     * apply's lock id) a create is made by — a create adopts an object at
     * its address only when it is this stack's; a foreign one fails it.
     * NULL outside an apply. */
    const char *stack_id, *run_id;
    /* read and import: the object's provider id (read looks it up by id,
     * not by address); NULL otherwise */
    const char *import_id;
    /* move: the address the object had; NULL otherwise */
    const char *moved_from;
    /* check (below): the step's action, "create", "update", "delete",
     * "import" or "move" (a replace is checked as its create and its
     * delete); NULL in every other call */
    const char *action;
    /* check: the plan's own attributes, its templates not filled in (a
     * {"$template"} with a {"$secret"} part is sealed once filled); NULL
     * in every other call */
    json_t *planned;
} mk_prov_op;

typedef struct mk_prov mk_prov;
typedef mk_prov_status (*mk_prov_fn)(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen);

struct mk_prov {
    const char *kind; /* "local", "sim", "postgres", "s3", "azure_blob", "http", "plugin" */
    unsigned caps;
    mk_prov_fn create, read, update, del;
    /* read: *out is the object's attributes as the provider sees them, in
     * the form the state records them (docs/drift.md), or NULL (with
     * MK_PROV_OK) when it does not exist; FAILED/RETRYABLE when it cannot
     * be seen — never "gone". */
    mk_prov_fn import; /* take op->import_id over for op->address; NULL: cannot */
    mk_prov_fn move;   /* op->moved_from's object is now op->address's; NULL: cannot */
    /* docs/providers.md, "Refused before the first step": called for every
     * step of an apply before the first one runs (op as for the step's own
     * call, with op->action). MK_PROV_FAILED with why when the change cannot
     * be made as planned here — an attribute the backend behind the
     * connection cannot enforce, a connection that breaks a rule or cannot
     * be reached as configured — and the apply changes nothing.
     * NULL: every change can. */
    mk_prov_fn check;
    /* The capabilities of one type (NULL: caps, for every type): a
     * provider whose types differ (a dropped database's data cannot come
     * back; a role can be made again) says so per type. */
    unsigned (*caps_of)(mk_prov *p, const char *type);
    void (*free)(mk_prov *p);
    void *impl;
};

/* Constructors: settings is the provider block of the plan (borrowed);
 * paths are relative to the stack directory (the working directory); cfg
 * is the executor's configuration (borrowed, outlives the provider; may be
 * NULL: all defaults). NULL with a reason in why when the settings are
 * unusable or not allowed. */
mk_prov *mk_prov_local_new(json_t *settings, const struct mk_config *cfg, char *why, size_t whylen);
mk_prov *mk_prov_sim_new(json_t *settings, char *why, size_t whylen);
/* postgres (runtime/providers/postgres.c, docs/providers.md "The postgres
 * provider"): settings.connection names a connection of cfg; an unknown
 * one, or one of another kind, is NULL with why naming it and the
 * configuration file. alias is the provider block's name (for messages). */
mk_prov *mk_prov_postgres_new(json_t *settings, const struct mk_config *cfg, const char *alias, char *why, size_t whylen);
/* The HTTP family (docs/providers.md, "HTTP connections"): settings.connection
 * names a connection of cfg of the provider's kind ("s3", "azure_blob",
 * "http"). s3 and azure_blob serve the abstract `bucket` (s3 on aws,
 * azure_blob on azure); http serves `http.object`. */
mk_prov *mk_prov_s3_new(json_t *settings, const struct mk_config *cfg, const char *alias, char *why, size_t whylen);
mk_prov *mk_prov_azblob_new(json_t *settings, const struct mk_config *cfg, const char *alias, char *why, size_t whylen);
mk_prov *mk_prov_http_new(json_t *settings, const struct mk_config *cfg, const char *alias, char *why, size_t whylen);
/* plugin (docs/plugins.md): settings.plugin names an entry of cfg's
 * allowlist; the plugin's own types (NAME.*) are what it serves. */
mk_prov *mk_prov_plugin_new(json_t *settings, const struct mk_config *cfg, const char *alias, char *why, size_t whylen);

#endif
