/* config — the executor's own configuration: settings that must not come
 * from a stack under review, in a file owned by whoever runs moksha-exec
 * (MOKSHA_EXEC_CONFIG, else $XDG_CONFIG_HOME/moksha/exec.json, else
 * ~/.config/moksha/exec.json). Format and rules: docs/executor.md
 * ("The executor's configuration").
 *
 * The file is validated strictly: unknown keys, wrong types and a file or
 * directory others can write are errors naming the file and the key. Each
 * section is one struct below; later sections (state backends, connections
 * and credentials, plugin allowlists, trust roots) are added the same way:
 * a struct, a member, an entry in the section table of config.c.
 *
 * A mk_config owns its strings; mk_config_free releases them. */
#ifndef MK_RUNTIME_CONFIG_H
#define MK_RUNTIME_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define MK_CONFIG_FORMAT "moksha.exec-config/v1"

/* "local": what the local provider may do beyond its jail in the stack. */
typedef struct mk_config_local {
    char **allowed_roots;    /* absolute, resolved: roots outside the stack directory it may use */
    size_t nallowed_roots;
    bool allow_special_bits; /* special_bits (setuid, setgid, sticky) on files and directories */
} mk_config_local;

/* "trust": present means trust mode (docs/trust.md): plans must be Ed25519
 * by a key the trust file lists, secrets are sealed to the executor's
 * X25519 key, and the project key (MOKSHA_KEY, .moksha/key) is refused. */
#define MK_CONFIG_MAX_ROOTS 16
typedef struct mk_config_trust {
    bool on;                       /* the section is there */
    char file[PATH_MAX];           /* the trust file (moksha.trust/v1), absolute */
    char keys[PATH_MAX];           /* the executor's key directory (seal.key, audit.key, trust.seen), absolute */
    char *roots[MK_CONFIG_MAX_ROOTS]; /* pinned root keys, "ed25519:BASE64", as written */
    size_t nroots;
    int threshold;                 /* 1..nroots */
} mk_config_trust;

/* "service": where `moksha-exec serve` listens and keeps its stacks. */
typedef struct mk_config_service {
    bool on;
    char socket[PATH_MAX];         /* absolute */
    char group[64];                /* the socket's group; "" = the service user's own */
    unsigned mode;                 /* the socket's mode, default 0660 */
    char stacks[PATH_MAX];         /* absolute: one directory per stack id under it */
    size_t max_plan;               /* max_plan_bytes: the largest plan it takes, default 256 MiB */
    /* what a client may ask of a refresh, which holds the stack's lock:
     * max_refresh_parallelism (default 64), max_refresh_retries (10),
     * max_refresh_timeout (per call, default 5 minutes) */
    int max_refresh_parallelism, max_refresh_retries;
    double max_refresh_timeout_ms;
} mk_config_service;

/* "state": where stacks' state lives (docs/state.md, "Choosing a
 * backend"). An environment named in "environments" takes its own
 * backend, conninfo and schema where it gives them. */
typedef struct mk_config_pg {
    char conninfo[1024];  /* libpq's, never with a password ("": libpq's PG* environment alone) */
    char schema[64];      /* default "moksha" */
} mk_config_pg;
typedef struct mk_config_state_env {
    char name[64];
    char backend[16];     /* "" = the section's */
    mk_config_pg pg;      /* "" members = the section's */
} mk_config_state_env;
typedef struct mk_config_state {
    char backend[16];     /* "local" (default) | "postgres" */
    mk_config_pg pg;
    char **stacks;        /* "stacks": the only stack names this executor may use on postgres (none: any) */
    size_t nstacks;
    mk_config_state_env *envs; /* "environments" */
    size_t nenvs;
    /* "local_stacks": {NAME: DIR}, where another stack's local state is,
     * for `state outputs --stack NAME` (docs/language.md, "Reading another
     * stack's outputs"); DIR absolute. The names are malloc'd pairs. */
    struct mk_config_local_stack { char *name, *dir; } *local_stacks;
    size_t nlocal_stacks;
} mk_config_state;

/* "connections": {NAME: {…}}, the servers providers reach
 * (docs/providers.md, "Connections"). A spec names one
 * (`provider postgres { connection = "analytics" }`); everything about
 * where and as whom is here, never in the spec. Owned strings. */
typedef struct mk_config_conn {
    char name[64];
    char kind[16];              /* "postgres", "s3", "azure_blob", "http", "plugin" */
    char conninfo[1024];        /* libpq's keywords or URI, never a password (refused, as in "state") */
    char **password_command;    /* argv: run for a short-lived password (stdout, docs/providers.md); NULL: libpq's own
                                   (.pgpass, PGPASSFILE, PGPASSWORD in the executor's environment) */
    size_t npassword_command;
    double credential_ttl_ms;   /* a command's password is used this long unless it says (default 15 min) */
    bool allow_cleartext_password; /* send a password to a server that asks for it in cleartext (default false) */
    bool allow_unverified_tls;  /* reach a TCP server other than loopback without sslmode verify-ca/verify-full
                                   or channel_binding=require (default false) */
    bool allow_createrole;      /* a postgres.role may have CREATEROLE: on PostgreSQL 15 and older nearly a
                                   superuser (docs/providers.md, "What a role may be given"; default false) */
    bool allow_fault_injection; /* honour a provider block's fail_on on this connection (default false: a spec
                                   asking for it is refused by the check, before the first step) */
    char **allow_addresses;     /* CIDRs let through that would be refused (link-local, cloud metadata); none wider
                                   than /8 (IPv4) or /10 (IPv6): note [widest allowance], netaddr.c */
    size_t nallow_addresses;
    double connect_timeout_ms;  /* default 10 s */
    double statement_timeout_ms;/* default 60 s, and never past a call's deadline */
    /* "self_hosted": what the server vouches for, for the abstract
     * `database` landing on it (docs/providers.md, "Self-hosted
     * databases"): {"encrypted": bool, "public": bool, "multi_az": bool,
     * "backup_retention": "7d", "audit_logging": bool, "capacity": {"cpu":
     * 8, "memory": "32GiB", "storage": "500GiB"}}; validated; NULL: none */
    struct json_t *self_hosted;
    /* ---- kinds "s3", "azure_blob", "http" (docs/providers.md, "HTTP
     * connections"); every HTTP request goes through runtime/httpc.c, which
     * applies these. password_command above holds `credential_command`. */
    char endpoint[1024];        /* the service's URL: http(s)://host[:port][/path], no user, query or fragment */
    char region[64];            /* s3: the SigV4 signing region (default "us-east-1") */
    char account[64];           /* azure_blob: the storage account (required) */
    int path_style;             /* s3: -1 not said (path style unless the host is AWS's), 0 virtual-host, 1 path */
    char ca_file[PATH_MAX];     /* absolute: the CAs TLS trusts ("": the system's) */
    bool allow_plaintext;       /* http:// to a host that is not loopback (default false) */
    double request_timeout_ms;  /* one request, default 60 s, never past a call's deadline (connect_timeout: the TCP+TLS part) */
    /* Validated JSON, kept as written (NULL when absent); their meaning is
     * the provider's (docs/providers.md):
     *   credentials      s3: {"access_key_id_env", "secret_access_key_env", "session_token_env"} (names of the
     *                    executor's environment variables; defaults AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
     *                    AWS_SESSION_TOKEN); azure_blob: {"account_key_env"} (default AZURE_STORAGE_KEY);
     *                    http: {"bearer_env"} | {"basic_user", "password_env"}; plugin: {"env": [NAMES]}
     *   implements       s3, azure_blob: ["encryption", "versioning", "public_access_block", "tagging",
     *                    "policy", "public_access"]: the bucket APIs the server implements (s3 default: all
     *                    but "public_access"; azure_blob default: ["tagging", "public_access"])
     *   vouches          s3, azure_blob: {"encrypted": bool, "versioning": bool, "public_access_block": bool}:
     *                    what the server or account guarantees by itself (an Azure storage account's settings)
     *   headers          http: {"Name": "value"} sent with every request (never a secret: use credentials)
     *   settings         plugin: any JSON object, handed to the plugin in its handshake */
    struct json_t *credentials, *implements, *vouches, *headers, *settings;
} mk_config_conn;

/* "plugins": {NAME: {…}}, the only plugins this executor runs
 * (docs/plugins.md, "The allowlist"): a plan naming any other, or one whose
 * folder no longer has the digest, is refused before the first step. */
typedef struct mk_config_plugin {
    char name[64];              /* as a spec names it: `provider plugin X { plugin = "NAME" }` */
    char dir[PATH_MAX];         /* absolute, resolved: DIR/plugin (the executable) and DIR/schema.moksha */
    char digest[80];            /* "sha256:" and 64 hex: mk_plugin_digest over the whole folder */
    char connection[64];        /* the connection (kind "plugin") whose credentials and settings it gets; "" none */
    double timeout_ms;          /* one call, default 30 s */
    bool allow_fault_injection; /* honour a block's fail_on (default false) */
} mk_config_plugin;

/* "notify": the hooks told of what an apply did (docs/executor.md, the
 * configuration's `notify`; docs/trust.md, "Notifications"): a list of
 * {"on": [EVENT… or "*"], "command": [ARGV…], "timeout_ms": N} or
 * {"on": …, "connection": "NAME", "path": "/…", "timeout_ms": N}, NAME an
 * http connection of this file (its rules and credential). */
#define MK_CONFIG_MAX_HOOKS 32
typedef struct mk_config_hook {
    char name[80];              /* "notify[2]": what the audit and messages call it */
    char **on;                  /* the events it asks for ("*": every one), NULL-terminated */
    size_t non;
    char **command;             /* argv (NULL-terminated), or NULL: POSTed to connection */
    size_t ncommand;
    char connection[64];        /* kind "http" */
    char path[1024];            /* under the connection's endpoint: "/hooks/moksha" */
    double timeout_ms;          /* default 10 s, 1 ms to 10 min */
} mk_config_hook;

typedef struct mk_config {
    char path[PATH_MAX];     /* the file read; "" when there is none (all defaults) */
    char dir[PATH_MAX];      /* its directory, resolved: providers never write there */
    mk_config_local local;
    mk_config_trust trust;
    mk_config_service service;
    mk_config_state state;
    mk_config_conn *conns;   /* "connections" */
    size_t nconns;
    mk_config_plugin *plugins; /* "plugins" */
    size_t nplugins;
    mk_config_hook *hooks;   /* "notify" */
    size_t nhooks;
} mk_config;

/* The path the configuration is read from (MOKSHA_EXEC_CONFIG or the
 * default) into buf; false when neither it nor HOME is set. */
bool mk_config_path(char *buf, size_t n);
/* Read and validate it. A missing default file is an empty configuration;
 * a missing MOKSHA_EXEC_CONFIG file is an error. False with why (naming the
 * file and the key). */
bool mk_config_load(mk_config *cfg, char *why, size_t whylen);
/* The same, keeping the file out of stack_dir rather than the current
 * directory (mk_config_load: "."); NULL for a command that runs in no
 * stack (`moksha-exec serve`, whose applies each load it again in theirs). */
bool mk_config_load_for(mk_config *cfg, const char *stack_dir, char *why, size_t whylen);
void mk_config_free(mk_config *cfg);
/* The connection called name, or NULL. */
const mk_config_conn *mk_config_conn_find(const mk_config *cfg, const char *name);
/* The allowed plugin called name, or NULL. */
const mk_config_plugin *mk_config_plugin_find(const mk_config *cfg, const char *name);
/* A size ("32GiB") in bytes, written as the language writes it (an
 * integer and a unit); false when not one. For connections.NAME.self_hosted
 * and the providers that compare with it (durations: mk_clock_parse_duration). */
bool mk_config_size(const char *s, double *bytes);
/* Is the resolved absolute path dir, or under it? */
bool mk_config_under(const char *path, const char *dir);

#endif
