/* azblob_sign — the azure_blob provider's Shared Key signing (docs/providers.md,
 * "The azure_blob provider"), apart from the provider so that it can be
 * tested on Azure's own documented example. The constructor is in
 * provider.h (mk_prov_azblob_new).
 *
 * A request is signed with HMAC-SHA256 (openssl), keyed by the account key
 * (base64-decoded), over the string Azure defines for Shared Key since
 * version 2009-09-19: the verb, eleven standard headers' values, the x-ms-
 * headers canonicalized, and the canonicalized resource (the account, the
 * URL's encoded path, the query's parameters decoded and sorted). Every
 * function here is pure and thread-safe. */
#ifndef MK_PROV_AZBLOB_SIGN_H
#define MK_PROV_AZBLOB_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The x-ms-version every request says: the REST API version whose answers
 * the provider reads. */
#define MK_PROV_AZBLOB_SIGN_VERSION "2021-12-02"

/* The string to sign for a request: verb ("GET"), the headers it sends as
 * "Name: value" lines (NULL-terminated; names any case; Content-Length
 * "0" is signed as empty), the storage account, the URL's path as sent
 * (percent-encoded, "/devstoreaccount1/logs" on a path-style endpoint,
 * "/logs" on ACCOUNT.blob.core.windows.net) and its query as sent
 * ("restype=container&comp=metadata", or NULL). A new string the caller
 * frees; NULL when out of memory or a query part does not decode. */
char *mk_prov_azblob_sign_string(const char *verb, const char *const *headers, const char *account,
                                    const char *path,
                               const char *query);
/* base64(HMAC-SHA256(key, sts)) into out (at least 45 bytes); false when
 * it does not fit or openssl fails. */
bool mk_prov_azblob_sign_hmac(const unsigned char *key, size_t keylen, const char *sts, char *out, size_t n);
/* The account key as Azure gives it (base64) decoded into key (at most
 * n bytes); its length, or 0 when it is not base64 or does not fit. */
size_t mk_prov_azblob_sign_key(const char *b64, unsigned char *key, size_t n);
/* t as x-ms-date wants it, RFC 1123 in GMT ("Sun, 11 Oct 2009 21:49:13
 * GMT"), whatever the locale; false when it does not fit. */
bool mk_prov_azblob_sign_date(time_t t, char *buf, size_t n);

#endif
