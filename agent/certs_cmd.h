/* certs_cmd: cassandra-agentctl's offline `truststore build|show` and `keystore build|show` commands. */
#ifndef CA_CERTS_CMD_H
#define CA_CERTS_CMD_H

#include <stdbool.h>

/*
 * Runs one offline certificate command; argv[0] is "truststore" or "keystore":
 *   truststore build --out FILE [--type pkcs12|pem|jks] [--password-file F] CERT.pem ...
 *       validates every CA certificate of the PEM files (certstore_validate_cas) and writes the
 *       truststore crash-safely (fileio_replace, mode 0644 when new). --password-file is
 *       required for pkcs12 and jks.
 *   keystore build --out FILE --key KEY.pem --cert CHAIN.pem [--password-file F]
 *       [--type pkcs12|pem] [--ca CA.pem ...] [--address IP] [--hostname NAME] [--require-san]
 *       [--alias NAME] [--key-password-file F]
 *       validates key and chain (certstore_validate_identity) against the CAs of --ca, or,
 *       without --ca, against the chain's own self-signed root (else the chain is not verified
 *       and a warning says so), and writes the keystore (mode 0600 when new). --password-file
 *       is required for pkcs12; for pem it encrypts the key (PKCS#8) when given.
 *   truststore show FILE [--type pkcs12|pem|jks] [--password-file F]   (also `keystore show`)
 *       lists every certificate: alias, entry type, days left, not-after, serial, subject,
 *       issuer; the type is detected when not given; with a password the PKCS#12 MAC or JKS
 *       hash is verified.
 * `--json` (anywhere among the options, or `json` true) prints one JSON object on stdout:
 * {"ok":true,"command":...,"type":...,"file":...,"entries":[...],"warnings":[...]} or
 * {"ok":false,"command":...,"error":"..."}. Without it the output is an aligned table.
 * A password file's first line (trailing "\n" and "\r" stripped) is the password; a missing
 * or empty one is an error. Passwords are never printed.
 * Input files over 1 MiB are refused. Errors and warnings go to stderr as
 * "cassandra-agentctl: ...". On any refusal no output file is written or changed.
 * Returns the exit code: 0 ok, 1 refused or failed, 2 usage.
 */
int certs_cmd_run(int argc, char **argv, bool json);

/* certs_cmd_run(argc, argv, false): the `--json` option may still be among argv. */
int certs_cmd_main(int argc, char **argv);

#endif
