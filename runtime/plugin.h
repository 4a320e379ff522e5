/* plugin — the client side of moksha's plugin protocol (docs/plugins.md):
 * one plugin process, DIR/plugin, spoken to in newline-delimited JSON over
 * its stdin and stdout, started with a stripped environment (PATH, HOME of
 * a temporary directory, LANG=C and only the variables granted), its stderr
 * copied into the executor's log with the granted values redacted. A call
 * that times out, or finds the process dead or talking nonsense, fails
 * alone: the process is killed (its whole group) and the next call starts
 * a new one. Calls on one client are serialised by its mutex, so worker
 * threads may share it.
 *
 * Also the digest of a plugin's folder (the allowlist's key) and of its
 * schema. Every function reports in why (one line, no secret). */
#ifndef MK_PLUGIN_H
#define MK_PLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MK_PLUGIN_PROTOCOL 1

/* The digest over the whole folder dir: "sha256:" and 64 hex into out
 * (80 bytes). Every regular file and directory under it, by path, with its
 * executable bit and contents; a symlink, a device, a socket or a fifo is
 * refused (what it reaches is not in the folder), and so is a tree deeper
 * than 16 levels or of more than 10000 entries. */
bool mk_plugin_digest(const char *dir, char out[80], char *why, size_t whylen);
/* The digest of one file's bytes (the schema: DIR/schema.moksha), same form. */
bool mk_plugin_file_digest(const char *path, char out[80], char *why, size_t whylen);

typedef enum {
    MK_PLUGIN_OK,       /* answered {"ok": true}: *answer is that whole message */
    MK_PLUGIN_REFUSED,  /* answered {"ok": false}: why holds its message */
    MK_PLUGIN_RETRY,    /* answered {"ok": false, "retryable": true} */
    MK_PLUGIN_BROKEN    /* did not answer as the protocol says: hung, died, invalid JSON, wrong id; restarted next */
} mk_plugin_status;

typedef struct mk_plugin mk_plugin;

typedef struct mk_plugin_spec {
    const char *name;        /* as allowlisted */
    const char *dir;         /* absolute: DIR/plugin is run */
    const char *digest;      /* "sha256:…": the folder must still have it at every start; NULL: not checked */
    json_t *settings;        /* handed over in the handshake (borrowed; NULL: {}) */
    const char *const *env;  /* names of the executor's variables it is given (NULL-terminated; NULL: none) */
    double timeout_ms;       /* one call, the handshake included */
    /* each line the plugin writes to stderr, redacted (NULL: the
     * executor's stderr, "plugin NAME: LINE") */
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
} mk_plugin_spec;

/* A client; nothing runs until the first call. Copies what it keeps of
 * spec. NULL on out of memory. */
mk_plugin *mk_plugin_new(const mk_plugin_spec *spec);
void mk_plugin_free(mk_plugin *pl);
/* Start it (if not running) and shake hands; MK_PLUGIN_OK with a copy of
 * its handshake in *hello (owned: the caller frees it) */
mk_plugin_status mk_plugin_start(mk_plugin *pl, double deadline_ms, json_t **hello, char *why, size_t whylen);
/* Does the running plugin's handshake list op in "operations"? */
bool mk_plugin_offers(mk_plugin *pl, const char *op);
/* One request: req (borrowed) gets "id" and "op" added; *answer (owned)
 * on MK_PLUGIN_OK: the plugin's whole answer, {"id", "ok": true, "result",
 * …}. deadline_ms 0: the spec's timeout alone. */
mk_plugin_status mk_plugin_call(mk_plugin *pl, const char *op, json_t *req, double deadline_ms, json_t **answer,
                                char *why, size_t whylen);
/* Kill the process (its group) and reap it; the next call starts another. */
void mk_plugin_stop(mk_plugin *pl);
/* How many processes this client has started (for tests: a restart is one more). */
int mk_plugin_starts(const mk_plugin *pl);
/* s with every granted variable's value (of 4 bytes or more) replaced by
 * "[redacted]", into out; and every byte that is not valid UTF-8, every
 * control character (C0, DEL, C1) and bidirectional override or mark
 * replaced by "?". */
void mk_plugin_redact(const mk_plugin *pl, const char *s, char *out, size_t outlen);
/* Does any string of v (a key or a value, at any depth) hold a granted
 * value (of 4 bytes or more)? */
bool mk_plugin_leaks(const mk_plugin *pl, const json_t *v);

#endif
