#!/usr/bin/python3
"""Java reads what `cassandra-agentctl truststore|keystore build` writes: keytool lists every CA as a
trustedCertEntry (PKCS#12 and JKS), the keystore as one PrivateKeyEntry with its full chain, refuses
wrong passwords; bad input is refused with a clear message and leaves the output file alone.

The CLI is $CERTS_CMD (default $BUILD_ROOT/cassandra-agentctl); certificates are made at test time
by tests/certs/make_node_certs.sh. Skipped, with a SKIP line, only when keytool is missing."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("PROJECT_ROOT") or os.path.dirname(os.path.dirname(HERE))
BUILD_ROOT = os.environ.get("BUILD_ROOT") or os.path.join(ROOT, "build")
CMD = os.environ.get("CERTS_CMD") or os.path.join(BUILD_ROOT, "cassandra-agentctl")
SCRIPT = os.path.join(ROOT, "tests", "certs", "make_node_certs.sh")
KEYTOOL = shutil.which("keytool") or ("/usr/bin/keytool" if os.access("/usr/bin/keytool", os.X_OK) else None)
JAVA = shutil.which("java")
PASSWORD = "changeit"

CERTS = None  # temporary directory with the test certificates


def setUpModule():
    global CERTS
    if not KEYTOOL:
        print("SKIP: test_certs_keytool: keytool not found (Debian: default-jdk-headless)", file=sys.stderr)
        raise unittest.SkipTest("keytool not found")
    if not os.access(CMD, os.X_OK):
        raise RuntimeError(f"CLI not found: {CMD} (set CERTS_CMD or BUILD_ROOT)")
    CERTS = tempfile.mkdtemp(prefix="test_certs_keytool.")
    subprocess.run(["sh", SCRIPT, CERTS], check=True)
    with open(os.path.join(CERTS, "pw"), "w") as f:
        f.write(PASSWORD + "\n")
    with open(os.path.join(CERTS, "wrong-pw"), "w") as f:
        f.write("not-the-password\n")
    open(os.path.join(CERTS, "empty.pem"), "w").close()


def tearDownModule():
    if CERTS:
        shutil.rmtree(CERTS, ignore_errors=True)


def c(name):
    return os.path.join(CERTS, name)


def ctl(*args, json_out=False):
    argv = [CMD] + (["--json"] if json_out else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=CERTS)


def keytool_list(path, storetype, password=PASSWORD):
    return subprocess.run([KEYTOOL, "-list", "-v", "-keystore", path, "-storepass", password,
                           "-storetype", storetype], capture_output=True, text=True, timeout=120)


def entries(keytool_out):
    """[(alias, entry type)] of `keytool -list -v` output."""
    return re.findall(r"^Alias name: (.*)\n(?:.*\n)*?Entry type: (\w+)", keytool_out, re.M)


class CertsTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="out.", dir=CERTS)
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def out(self, name):
        return os.path.join(self.tmp, name)

    def build_ok(self, *args):
        r = ctl(*args, json_out=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = json.loads(r.stdout)
        self.assertTrue(res["ok"])
        return res


class Truststores(CertsTestCase):
    CAS = ("root-ca.pem", "root2-ca.pem", "int-ca.pem")

    def check_trusted(self, storetype, flag):
        out = self.out("trust." + flag)
        res = self.build_ok("truststore", "build", "--out", out, "--type", flag, "--password-file", c("pw"),
                            *[c(n) for n in self.CAS])
        self.assertEqual([e["entry_type"] for e in res["entries"]], ["trustedCertEntry"] * 3)
        r = keytool_list(out, storetype)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"Keystore type: {storetype}", r.stdout)
        self.assertIn("Your keystore contains 3 entries", r.stdout)
        self.assertEqual(sorted(entries(r.stdout)),
                         sorted((e["alias"], "trustedCertEntry") for e in res["entries"]))
        for subject in ("CN=Test Root CA, O=Test", "CN=Second Root CA, O=Test", "CN=Test Intermediate CA, O=Test"):
            self.assertIn(f"Owner: {subject}", r.stdout)
        return out

    def test_pkcs12_truststore_lists_every_ca_as_trusted_cert_entry(self):
        self.check_trusted("PKCS12", "pkcs12")

    def test_jks_truststore_lists_every_ca_as_trusted_cert_entry(self):
        self.check_trusted("JKS", "jks")

    def test_wrong_password_refused_by_keytool_for_jks(self):
        out = self.check_trusted("JKS", "jks")
        r = keytool_list(out, "JKS", "wrong-password")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("password was incorrect", r.stdout + r.stderr)

    def test_wrong_password_refused_by_keytool_for_pkcs12(self):
        out = self.check_trusted("PKCS12", "pkcs12")
        r = keytool_list(out, "PKCS12", "wrong-password")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("integrity check", (r.stdout + r.stderr).lower())

    def test_pem_truststore_is_the_concatenated_ca_certificates(self):
        out = self.out("trust.pem")
        self.build_ok("truststore", "build", "--out", out, "--type", "pem", c("root-ca.pem"), c("root2-ca.pem"))
        with open(out) as f, open(c("root-ca.pem")) as a, open(c("root2-ca.pem")) as b:
            self.assertEqual(f.read(), a.read() + b.read())

    def test_show_reports_expiry_and_checks_integrity(self):
        out = self.check_trusted("PKCS12", "pkcs12")
        r = ctl("truststore", "show", out, "--password-file", c("pw"), json_out=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = json.loads(r.stdout)
        self.assertTrue(res["integrity_checked"])
        self.assertEqual(len(res["entries"]), 3)
        for e in res["entries"]:
            self.assertGreater(e["days_left"], 800)
            self.assertRegex(e["serial"], r"^[0-9a-f]+$")
            for k in ("alias", "subject", "issuer", "not_after"):
                self.assertIn(k, e)
        r = ctl("truststore", "show", out, "--password-file", c("wrong-pw"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("integrity check failed", r.stderr)
        r = ctl("truststore", "show", out)  # human table, no password: integrity not verified
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("NOT verified", r.stdout)
        self.assertRegex(r.stdout, r"test-root-ca-[0-9a-f]{8} +trustedCertEntry")


class Keystores(CertsTestCase):
    def test_keystore_has_one_private_key_entry_with_full_chain(self):
        out = self.out("keystore.p12")
        res = self.build_ok("keystore", "build", "--out", out, "--key", c("node.key"), "--cert", c("node-chain.pem"),
                            "--password-file", c("pw"), "--ca", c("root-ca.pem"), "--address", "10.0.1.11")
        self.assertEqual(res["warnings"], [])
        r = keytool_list(out, "PKCS12")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Your keystore contains 1 entry", r.stdout)
        self.assertEqual(entries(r.stdout), [(res["entries"][0]["alias"], "PrivateKeyEntry")])
        self.assertIn("Certificate chain length: 2", r.stdout)
        self.assertEqual(oct(os.stat(out).st_mode & 0o777), "0o600")

    def test_keystore_from_traditional_rsa_key(self):
        out = self.out("keystore-rsa.p12")
        self.build_ok("keystore", "build", "--out", out, "--key", c("node-rsa.key"), "--cert",
                      c("node-rsa-chain.pem"), "--password-file", c("pw"), "--ca", c("root-ca.pem"))
        r = keytool_list(out, "PKCS12")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Entry type: PrivateKeyEntry", r.stdout)
        self.assertIn("Certificate chain length: 2", r.stdout)

    def test_wrong_password_refused_by_keytool_for_pkcs12_keystore(self):
        out = self.out("keystore.p12")
        self.build_ok("keystore", "build", "--out", out, "--key", c("node.key"), "--cert", c("node-chain.pem"),
                      "--password-file", c("pw"), "--ca", c("root-ca.pem"))
        r = keytool_list(out, "PKCS12", "wrong-password")
        self.assertNotEqual(r.returncode, 0)

    def test_san_mismatch_warns_by_default_and_refuses_when_required(self):
        out = self.out("keystore.p12")
        args = ["keystore", "build", "--out", out, "--key", c("node.key"), "--cert", c("node-chain.pem"),
                "--password-file", c("pw"), "--ca", c("root-ca.pem"), "--address", "10.9.9.9"]
        r = ctl(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: the node certificate's subjectAltName (DNS:node1.example.com, IP:10.0.1.11) "
                      "holds no 10.9.9.9", r.stderr)
        os.unlink(out)
        r = ctl(*args, "--require-san")
        self.assertEqual(r.returncode, 1)
        self.assertIn("holds no 10.9.9.9", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_pem_key_material_reads_like_cassandras_pem_reader(self):
        if not JAVA:
            print("SKIP: test_pem_key_material_reads_like_cassandras_pem_reader: java not found", file=sys.stderr)
            self.skipTest("java not found")
        out = self.out("keystore.pem")
        self.build_ok("keystore", "build", "--type", "pem", "--out", out, "--key", c("node-rsa.key"), "--cert",
                      c("node-rsa-chain.pem"), "--password-file", c("pw"), "--ca", c("root-ca.pem"))
        # The steps of org.apache.cassandra.security.PEMReader.extractPrivateKey (4.1/5.0).
        src = os.path.join(self.tmp, "PemKeyCheck.java")
        with open(src, "w") as f:
            f.write(textwrap.dedent("""\
                import java.nio.file.*; import java.security.*; import java.security.spec.*;
                import javax.crypto.*; import javax.crypto.spec.*; import java.util.*; import java.util.regex.*;
                public class PemKeyCheck {
                  public static void main(String[] a) throws Exception {
                    String pem = new String(Files.readAllBytes(Paths.get(a[0])));
                    Matcher m = Pattern.compile("-+BEGIN\\\\s+.*PRIVATE\\\\s+KEY[^-]*-+(?:\\\\s|\\\\r|\\\\n)+"
                        + "([a-z0-9+/=\\\\r\\\\n]+)-+END\\\\s+.*PRIVATE\\\\s+KEY[^-]*-+", Pattern.CASE_INSENSITIVE).matcher(pem);
                    if (!m.find()) throw new Exception("no key");
                    byte[] der = Base64.getDecoder().decode(m.group(1).replaceAll("\\\\s", ""));
                    EncryptedPrivateKeyInfo epki = new EncryptedPrivateKeyInfo(der);
                    Key k = SecretKeyFactory.getInstance(epki.getAlgName()).generateSecret(new PBEKeySpec(a[1].toCharArray()));
                    Cipher c = Cipher.getInstance(epki.getAlgName());
                    c.init(Cipher.DECRYPT_MODE, k, epki.getAlgParameters());
                    PrivateKey p = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(c.doFinal(epki.getEncryptedData())));
                    int n = 0; Matcher cm = Pattern.compile("-----BEGIN CERTIFICATE-----").matcher(pem); while (cm.find()) n++;
                    System.out.println("OK " + epki.getAlgName() + " " + p.getAlgorithm() + " certs=" + n);
                  }
                }
                """))
        r = subprocess.run([JAVA, src, out, PASSWORD], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("OK PBEWithSHA1AndDESede RSA certs=2", r.stdout)


class BadInput(CertsTestCase):
    """Each bad input: exit 1, a clear message, no file written, an existing file byte-identical."""

    def refused(self, args, out, message):
        r = ctl(*args)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(message, r.stderr)
        self.assertFalse(os.path.exists(out), "output written despite the refusal")
        old = b"previous store bytes\n"
        with open(out, "wb") as f:
            f.write(old)
        r = ctl(*args, json_out=False)
        self.assertEqual(r.returncode, 1)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), old, "existing output changed despite the refusal")
        self.assertEqual(sorted(os.listdir(os.path.dirname(out))), [os.path.basename(out)], "temporary file left")
        os.unlink(out)

    def trust(self, *files, type_="pkcs12", pw="pw"):
        out = self.out("trust.out")
        return ["truststore", "build", "--out", out, "--type", type_, "--password-file", c(pw)] + \
            [c(f) for f in files], out

    def key(self, key, chain, ca="root-ca.pem"):
        out = self.out("key.out")
        return ["keystore", "build", "--out", out, "--key", c(key), "--cert", c(chain), "--password-file", c("pw"),
                "--ca", c(ca)], out

    def test_garbage_refused(self):
        for t in ("pkcs12", "jks", "pem"):
            with self.subTest(type=t):
                self.refused(*self.trust("garbage.pem", type_=t), "no PEM '-----BEGIN' line")

    def test_der_where_pem_expected_refused(self):
        self.refused(*self.trust("root-ca.der"), "DER-encoded (binary) X.509 certificate, expected PEM")

    def test_expired_ca_refused(self):
        self.refused(*self.trust("root-ca.pem", "expired-ca.pem"), "(CN=Expired CA) expired on 2021-01-01")

    def test_not_yet_valid_ca_refused(self):
        self.refused(*self.trust("future-ca.pem", type_="jks"), "is not valid yet: valid from 2090-01-01")

    def test_expired_node_certificate_refused(self):
        self.refused(*self.key("node.key", "expired-node-chain.pem"), "node certificate (CN=node1.example.com) expired")

    def test_not_yet_valid_node_certificate_refused(self):
        self.refused(*self.key("node.key", "future-node-chain.pem"), "is not valid yet")

    def test_key_not_matching_refused(self):
        self.refused(*self.key("wrong.key", "node-chain.pem"), "private key does not match the node certificate")

    def test_chain_to_unknown_ca_refused(self):
        self.refused(*self.key("node-other.key", "node-other-chain.pem"),
                     "does not verify to a CA in the trust set")

    def test_rsa_1024_refused(self):
        self.refused(*self.trust("weak-ca.pem"), "RSA 1024-bit key is too weak")
        self.refused(*self.key("weak-node.key", "weak-node-chain.pem"), "RSA 1024-bit key is too weak")

    def test_5_mib_blob_refused(self):
        self.refused(*self.trust("big.pem"), "larger than the 1 MiB")
        self.refused(*self.key("big.pem", "node-chain.pem"), "larger than the 1 MiB")

    def test_empty_list_of_cas_refused(self):
        self.refused(*self.trust("empty.pem"), "empty input (no certificate)")
        self.refused(*self.trust("node.key"), "no CERTIFICATE PEM block found (found: PRIVATE KEY)")
        out = self.out("trust.out")
        r = ctl("truststore", "build", "--out", out, "--password-file", c("pw"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("no CA certificate file given", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_missing_password_file_refused(self):
        self.refused(*self.trust("root-ca.pem", pw="no-such-file"), "cannot read password file")
        self.refused(*self.trust("root-ca.pem", pw="empty.pem"), "is empty")

    def test_json_error_result(self):
        args, out = self.trust("garbage.pem")
        r = ctl(*args, json_out=True)
        self.assertEqual(r.returncode, 1)
        res = json.loads(r.stdout)
        self.assertFalse(res["ok"])
        self.assertIn("no PEM", res["error"])

    def test_usage_errors_exit_2(self):
        for args in (["truststore", "build", c("root-ca.pem"), "--password-file", c("pw")],
                     ["truststore", "build", "--out", self.out("x"), "--bogus", c("root-ca.pem")],
                     ["truststore", "build", "--out", self.out("x"), "--type", "der", c("root-ca.pem")],
                     ["keystore", "build", "--out", self.out("x"), "--key", c("node.key")],
                     ["truststore", "frobnicate"]):
            with self.subTest(args=args[:3]):
                r = ctl(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("usage:", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
