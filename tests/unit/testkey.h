/* testkey — the keyring a unit test keys an audit head with: the project
 * key's, its sign key all one byte (runtime/keyring.h). Include it after
 * unit.h. */
#ifndef MK_TEST_TESTKEY_H
#define MK_TEST_TESTKEY_H

#include "runtime/keyring.h"

static inline mk_keyring mk_test_keyring(char c)
{
    mk_planfile_key k;
    mk_keyring kr;
    memset(&k, 0, sizeof k);
    memset(k.sign, c, sizeof k.sign);
    mk_keyring_from_project(&kr, &k);
    return kr;
}

#endif
