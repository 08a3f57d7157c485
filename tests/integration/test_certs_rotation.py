#!/usr/bin/python3
"""Integration tests of certificate rotation in the daemon (SPEC section 6.2): RotateCertificates
from the reference controller through its three phases (ADD_TRUST, SWITCH_IDENTITY,
REMOVE_TRUST), checked with keytool; `nodetool reloadssl` once per phase on 4.x and a pending
restart on 3.11; idempotent phases (identical bytes, no second reloadssl); verification of the
native port with a TLS responder; bad input that leaves every store byte-identical; the `certs`
document; CERT_EXPIRING for a certificate that expires within 30 days.

Runs the real $BUILD_ROOT/cassandra-agent against the test doubles (tests/integration/harness.py)
with a small cassandra.yaml fixture in the temporary directory. Certificates come from
tests/certs/make_certs.sh; the short-lived one is made here with openssl. The keytool checks are
skipped (SKIP line) when keytool is missing (Debian: default-jdk-headless).
"""
import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "controller"))
from client import Controller, make_certs  # noqa: E402
from harness import AGENT, AGENTCTL, DOUBLES, PY, TIME_SCALE, Env, wait_for  # noqa: E402

KEYTOOL = shutil.which("keytool") or ("/usr/bin/keytool" if os.access("/usr/bin/keytool", os.X_OK) else None)
FINALS = ("COMMAND_STATUS_SUCCEEDED", "COMMAND_STATUS_FAILED", "COMMAND_STATUS_REJECTED")
REFUSED = ("COMMAND_STATUS_FAILED", "COMMAND_STATUS_REJECTED")
SECRETS = ("ks-secret", "ts-secret", "cks-secret", "cts-secret")
CERTS = None
CERTS_ROOT = None


def setUpModule():
    global CERTS, CERTS_ROOT
    if not os.access(AGENT, os.X_OK):
        raise RuntimeError("agent not found: %s (set BUILD_ROOT)" % AGENT)
    CERTS_ROOT = tempfile.mkdtemp(prefix="ca-certs-rot-")
    CERTS = make_certs(os.path.join(CERTS_ROOT, "certs"))
    # A CA that expires in 10 days (CERT_EXPIRING), and the DER form of ca.pem (bad input).
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(CERTS_ROOT, "short-ca.key"), "-out", os.path.join(CERTS_ROOT, "short-ca.pem"),
                    "-days", "10", "-subj", "/CN=Short Lived CA", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True, timeout=60)
    subprocess.run(["openssl", "x509", "-in", os.path.join(CERTS, "ca.pem"), "-outform", "DER", "-out",
                    os.path.join(CERTS_ROOT, "ca.der")], check=True, capture_output=True, timeout=60)


def tearDownModule():
    if CERTS_ROOT:
        shutil.rmtree(CERTS_ROOT, ignore_errors=True)


def c(name):
    path = os.path.join(CERTS, name)
    return path if os.path.exists(path) else os.path.join(CERTS_ROOT, name)


def text(name):
    with open(c(name)) as f:
        return f.read()


def sha256_of_pem(name):
    """Uppercase colon-separated SHA-256 of the first certificate of a PEM file, as keytool prints it."""
    der = ssl.PEM_cert_to_DER_cert(text(name))
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def keytool(path, password, storetype="PKCS12"):
    """`keytool -list -v` of a store: (entries [(alias, type)], fingerprints, output)."""
    r = subprocess.run([KEYTOOL, "-list", "-v", "-keystore", path, "-storepass", password, "-storetype", storetype],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("keytool -list %s failed: %s%s" % (path, r.stdout, r.stderr))
    entries = re.findall(r"^Alias name: (.*)\n(?:.*\n)*?Entry type: (\w+)", r.stdout, re.M)
    fps = re.findall(r"^\s*SHA256: ([0-9A-F:]+)$", r.stdout, re.M)
    return entries, fps, r.stdout


class RotationCase(unittest.TestCase):
    cassandra = "4.1.8"
    client_tls = False        # client_encryption_options.enabled, a TLS responder on the native port
    truststore_type = "pkcs12"
    store_ext = "p12"
    responder_cert = "node1-ec"

    def setUp(self):
        self.env = Env(cql=not self.client_tls)
        self.addCleanup(self.env.close)
        self.d = self.env.dir
        self.truststore = os.path.join(self.d, "truststore." + self.store_ext)
        self.keystore = os.path.join(self.d, "keystore." + self.store_ext)
        self.client_truststore = os.path.join(self.d, "client-truststore." + self.store_ext)
        self.client_keystore = os.path.join(self.d, "client-keystore." + self.store_ext)
        self.responder = None
        if self.client_tls:
            self.start_responder(self.responder_cert)
        with open(os.path.join(self.d, "cassandra.yaml"), "w") as f:
            f.write("""# cassandra.yaml fixture of test_certs_rotation
cluster_name: 'prod-cluster'
server_encryption_options:
  internode_encryption: all
  keystore: {ks}
  keystore_password: "ks-secret"
  truststore: {ts}
  truststore_password: "ts-secret"
client_encryption_options:
  enabled: {enabled}
  optional: false
  keystore: {cks}
  keystore_password: "cks-secret"
  truststore: {cts}
  truststore_password: "cts-secret"
""".format(ks=self.keystore, ts=self.truststore, cks=self.client_keystore, cts=self.client_truststore,
           enabled="true" if self.client_tls else "false"))
        self.env.edit_state(lambda st: st.update(version=self.cassandra))
        self.ctl = Controller(CERTS, os.path.join(self.d, "record.jsonl"), os.path.join(self.d, "c.sock"),
                              manual_leases=True)
        self.addCleanup(self.ctl.stop)
        self.env.write_config(controller=dict(address="127.0.0.1:%d" % self.ctl.port, ca=c("ca.pem"),
                                              cert=c("agent.pem"), key=c("agent.key")),
                              extra="tls: { truststore_type: %s }" % self.truststore_type)
        self.env.start_agent()
        self.ctl.wait("hello", timeout=10)
        wait_for(lambda: self.env.ctl("version")["cassandra_version"] == self.cassandra, 15, "version known")
        self.n = 0

    # ---- helpers -------------------------------------------------------------------------
    def start_responder(self, name, port=0):
        if self.responder is not None:
            os.killpg(self.responder.pid, signal.SIGTERM)
            self.responder.wait(5)
        p = self.env._spawn([PY, os.path.join(DOUBLES, "cql_responder.py"), "--port", str(port),
                             "--tls-cert", c(name + ".pem"), "--tls-key", c(name + ".key")])
        self.env.cql_port = int(p.stdout.readline().strip())
        self.responder = p

    def rotate(self, phase, ca=None, chain=None, key=None, raw=None):
        """Pushes one RotateCertificates (file names or raw strings) and returns its final CommandUpdate."""
        self.n += 1
        cid = "rot-%d" % self.n
        body = {"phase": "ROTATION_PHASE_" + phase}
        if raw is not None:
            body.update(raw)
        if ca is not None:
            body["ca_pem"] = [text(n) for n in ca]
        if chain is not None:
            body["cert_chain_pem"] = text(chain)
        if key is not None:
            body["key_pem"] = text(key)
        self.ctl.push({"id": cid, "rotate_certificates": body})
        u = wait_for(lambda: [r for r in self.ctl.records("command_update", {"id": cid})
                              if r["command_update"].get("status") in FINALS], 30, cid)[-1]["command_update"]
        u.setdefault("message", "")
        for s in SECRETS:
            self.assertNotIn(s, u["message"])
        return u

    def ok(self, phase, **kw):
        u = self.rotate(phase, **kw)
        self.assertEqual(u["status"], "COMMAND_STATUS_SUCCEEDED", u)
        return u

    def reloads(self):
        return self.env.nodetool_calls("reloadssl")

    def snapshot(self):
        out = {}
        for p in (self.truststore, self.keystore, self.client_truststore, self.client_keystore,
                  os.path.join(self.d, "certs", "trust.pem"), os.path.join(self.d, "certs", "identity.pem")):
            try:
                with open(p, "rb") as f:
                    out[p] = f.read()
            except FileNotFoundError:
                out[p] = None
        return out

    def bootstrap(self, identity=("node1-ec.pem", "node1-ec.key")):
        """The initial install: trust {ca}, then the node identity."""
        self.ok("ADD_TRUST", ca=["ca.pem"])
        self.ok("SWITCH_IDENTITY", chain=identity[0], key=identity[1])

    def need_keytool(self):
        if not KEYTOOL:
            print("SKIP: keytool not found (Debian: default-jdk-headless)", file=sys.stderr)
            self.skipTest("keytool not found")

    def tearDown(self):
        log = self.env.log() if os.path.exists(self.env.agent_log) else ""
        for s in SECRETS:
            self.assertNotIn(s, log, "a store password reached the agent's log")


class Rotation(RotationCase):
    def test_three_phases_seen_by_keytool_with_one_reloadssl_per_phase(self):
        self.need_keytool()
        self.bootstrap()
        self.assertEqual(self.reloads(), 2)
        entries, fps, _ = keytool(self.truststore, "ts-secret")
        self.assertEqual([t for _, t in entries], ["trustedCertEntry"])
        self.assertEqual(fps, [sha256_of_pem("ca.pem")])

        # ADD_TRUST: old and new CA.
        u = self.ok("ADD_TRUST", ca=["ca2.pem"])
        self.assertIn(self.truststore, u["message"])
        self.assertIn("reloadssl", u["message"])
        self.assertEqual(self.reloads(), 3)
        entries, fps, _ = keytool(self.truststore, "ts-secret")
        self.assertEqual([t for _, t in entries], ["trustedCertEntry", "trustedCertEntry"])
        self.assertEqual(sorted(fps), sorted([sha256_of_pem("ca.pem"), sha256_of_pem("ca2.pem")]))
        self.assertEqual(stat.S_IMODE(os.stat(self.truststore).st_mode), 0o644)

        # SWITCH_IDENTITY: the keystore holds node2's key and certificate.
        u = self.ok("SWITCH_IDENTITY", chain="node2.pem", key="node2.key")
        self.assertIn(self.keystore, u["message"])
        self.assertEqual(self.reloads(), 4)
        entries, fps, out = keytool(self.keystore, "ks-secret")
        self.assertEqual([t for _, t in entries], ["PrivateKeyEntry"])
        self.assertIn("Certificate chain length: 1", out)
        self.assertEqual(fps, [sha256_of_pem("node2.pem")])
        self.assertEqual(stat.S_IMODE(os.stat(self.keystore).st_mode), 0o640)

        # REMOVE_TRUST: the new CA only.
        u = self.ok("REMOVE_TRUST", ca=["ca2.pem"])
        self.assertEqual(self.reloads(), 5)
        entries, fps, _ = keytool(self.truststore, "ts-secret")
        self.assertEqual([t for _, t in entries], ["trustedCertEntry"])
        self.assertEqual(fps, [sha256_of_pem("ca2.pem")])

        # The agent's record, and the previous stores kept in the history directory.
        with open(os.path.join(self.d, "certs", "trust.pem")) as f:
            self.assertEqual(f.read().count("BEGIN CERTIFICATE"), 1)
        with open(os.path.join(self.d, "certs", "identity.pem")) as f:
            self.assertEqual(ssl.PEM_cert_to_DER_cert(f.read()), ssl.PEM_cert_to_DER_cert(text("node2.pem")))
        hist = os.listdir(os.path.join(self.d, "history"))
        self.assertEqual(len([h for h in hist if h.startswith("truststore.p12.")]), 2)  # no copy of the first
        self.assertEqual(len([h for h in hist if h.startswith("keystore.p12.")]), 1)
        # Client encryption is off here: its stores are not written.
        self.assertFalse(os.path.exists(self.client_truststore))
        self.assertFalse(os.path.exists(self.client_keystore))
        rot = self.env.ctl("certs")["rotation"]
        self.assertEqual(rot["last_phase"], "REMOVE_TRUST")
        self.assertEqual(rot["state"], "idle")

    def test_repeating_a_phase_changes_nothing(self):
        self.bootstrap()
        self.ok("ADD_TRUST", ca=["ca2.pem"])
        before, calls = self.snapshot(), self.reloads()
        for phase, kw in [("ADD_TRUST", dict(ca=["ca2.pem"])),
                          ("ADD_TRUST", dict(ca=["ca.pem", "ca2.pem"])),
                          ("SWITCH_IDENTITY", dict(chain="node1-ec.pem", key="node1-ec.key"))]:
            u = self.ok(phase, **kw)
            self.assertIn("no change", u["message"], (phase, u))
            self.assertEqual(self.snapshot(), before, phase)
            self.assertEqual(self.reloads(), calls, phase)
        # REMOVE_TRUST down to ca (node1-ec's CA): once written, then no change.
        self.ok("REMOVE_TRUST", ca=["ca.pem"])
        self.assertEqual(self.reloads(), calls + 1)
        after = self.snapshot()
        self.assertNotEqual(after[self.truststore], before[self.truststore])
        u = self.ok("REMOVE_TRUST", ca=["ca.pem"])
        self.assertIn("no change", u["message"])
        self.assertEqual(self.snapshot(), after)
        self.assertEqual(self.reloads(), calls + 1)

    def test_the_record_survives_a_restart_and_a_reload(self):
        self.bootstrap()
        before, calls = self.snapshot(), self.reloads()
        self.env.stop_agent()
        self.env.start_agent()
        self.ctl.wait("hello", timeout=10, count=2)
        wait_for(lambda: self.env.ctl("version")["cassandra_version"] == self.cassandra, 15, "version known")
        rot = self.env.ctl("certs")["rotation"]
        self.assertEqual((rot["trust_recorded"], rot["identity_recorded"]), (1, True))
        self.assertIn("no change", self.ok("ADD_TRUST", ca=["ca.pem"])["message"])
        self.assertIn("no change", self.ok("SWITCH_IDENTITY", chain="node1-ec.pem", key="node1-ec.key")["message"])
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.reloads(), calls)
        self.env.agent.send_signal(signal.SIGHUP)
        wait_for(lambda: [e for e in self.env.ctl("events")["events"] if e["kind"] == "config_reloaded"], 10,
                 "reloaded")
        self.ok("ADD_TRUST", ca=["ca2.pem"])
        self.assertEqual(self.reloads(), calls + 1)
        self.assertEqual(len([x for x in self.env.ctl("certs")["certificates"] if x["path"] == self.truststore]), 2)

    def test_bad_inputs_leave_the_stores_byte_identical(self):
        self.bootstrap()
        before, calls = self.snapshot(), self.reloads()
        with open(c("ca.der"), "rb") as f:
            der = f.read()
        blob = "-----BEGIN CERTIFICATE-----\n" + ("A" * 76 + "\n") * (2 * 1024 * 1024 // 77) + \
               "-----END CERTIFICATE-----\n"
        cases = [
            ("garbage CA", "ADD_TRUST", dict(raw={"ca_pem": ["this is not a certificate"]}), "PEM"),
            ("garbage chain", "SWITCH_IDENTITY", dict(raw={"cert_chain_pem": "garbage\n"}, key="node1-ec.key"),
             "PEM"),
            ("garbage key", "SWITCH_IDENTITY", dict(chain="node1-ec.pem", raw={"key_pem": "no key here\n"}), "key"),
            ("DER", "ADD_TRUST", dict(raw={"ca_pem": [der.decode("latin-1")]}), ""),
            ("DER as base64 without armour", "ADD_TRUST", dict(raw={"ca_pem": [base64.b64encode(der).decode()]}),
             "PEM"),
            ("expired", "SWITCH_IDENTITY", dict(chain="node-expired.pem", key="node-expired.key"), "expired"),
            ("not yet valid", "SWITCH_IDENTITY", dict(chain="node-notyet.pem", key="node-notyet.key"),
             "not valid yet"),
            ("key not matching", "SWITCH_IDENTITY", dict(chain="node1-ec.pem", key="node2.key"), "does not match"),
            ("unknown CA", "SWITCH_IDENTITY", dict(chain="node2.pem", key="node2.key"), "does not verify"),
            ("RSA 1024", "SWITCH_IDENTITY", dict(chain="rsa1024.pem", key="rsa1024.key"), "1024"),
            ("expired CA", "ADD_TRUST", dict(ca=["controller-expired.pem"]), "expired"),
            ("2 MiB of CAs", "ADD_TRUST", dict(raw={"ca_pem": [blob]}), "1 MiB"),
            ("2 MiB chain", "SWITCH_IDENTITY", dict(raw={"cert_chain_pem": blob}, key="node1-ec.key"), "1 MiB"),
            ("empty CA list (add)", "ADD_TRUST", dict(raw={"ca_pem": []}), "no CA"),
            ("empty CA list (remove)", "REMOVE_TRUST", dict(raw={"ca_pem": []}), "no CA"),
            ("removing the identity's CA", "REMOVE_TRUST", dict(ca=["ca2.pem"]), "would not verify"),
            ("no phase", "UNSPECIFIED", dict(ca=["ca.pem"]), "phase"),
        ]
        for what, phase, kw, needle in cases:
            u = self.rotate(phase, **kw)
            self.assertIn(u["status"], REFUSED, (what, u))
            self.assertTrue(u["message"], what)
            self.assertIn(needle, u["message"], what)
            self.assertEqual(self.snapshot(), before, what)
            self.assertEqual(self.reloads(), calls, what)
        # The agent still works afterwards.
        self.ok("ADD_TRUST", ca=["ca2.pem"])
        self.assertEqual(self.reloads(), calls + 1)

    def test_stores_cassandra_yaml_does_not_name_usably_are_refused(self):
        path = os.path.join(self.d, "cassandra.yaml")
        with open(path) as f:
            good = f.read()
        cases = [
            (good.replace("  truststore: %s\n" % self.truststore, ""), "ADD_TRUST",
             "sets no server_encryption_options.truststore"),
            (good.replace(self.truststore, "conf/.truststore"), "ADD_TRUST", "relative"),
            (good.replace('  truststore_password: "ts-secret"\n', ""), "ADD_TRUST", "truststore_password"),
            (good.replace(self.truststore, self.keystore), "ADD_TRUST", "both a keystore and a truststore"),
        ]
        for text_, phase, needle in cases:
            self.assertNotEqual(text_, good)
            with open(path, "w") as f:
                f.write(text_)
            u = self.rotate(phase, ca=["ca.pem"])
            self.assertIn(u["status"], REFUSED, (needle, u))
            self.assertIn(needle, u["message"])
            self.assertFalse(os.path.exists(self.truststore), needle)
            self.assertFalse(os.path.exists(self.keystore), needle)
        self.assertEqual(self.reloads(), 0)

    def test_a_5_mib_blob_is_a_protocol_error_and_changes_nothing(self):
        self.bootstrap()
        before, calls = self.snapshot(), self.reloads()
        blob = "-----BEGIN CERTIFICATE-----\n" + ("A" * 76 + "\n") * (5 * 1024 * 1024 // 77) + \
               "-----END CERTIFICATE-----\n"
        self.ctl.push({"id": "huge", "rotate_certificates": {"phase": "ROTATION_PHASE_ADD_TRUST", "ca_pem": [blob]}},
                      check=False)
        # Over the 4 MiB frame limit: the agent closes the connection and dials again.
        self.ctl.wait("hello", timeout=30, count=2)
        time.sleep(0.5)
        self.assertEqual(self.ctl.records("command_update", {"id": "huge"}), [])
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.reloads(), calls)
        self.ok("ADD_TRUST", ca=["ca2.pem"])

    def test_certs_lists_every_certificate_with_days_left(self):
        self.bootstrap(identity=("node1-chain.pem", "node1.key"))
        doc = wait_for(lambda: (lambda d: d if len(d["certificates"]) >= 4 else None)(self.env.ctl("certs")), 10,
                       "certs listed")
        by_path = {}
        for cert in doc["certificates"]:
            for k in ("path", "subject", "issuer", "serial", "not_after_unix", "days_left"):
                self.assertIn(k, cert)
            self.assertIsInstance(cert["days_left"], int)
            self.assertGreater(cert["days_left"], 300)
            self.assertAlmostEqual(cert["days_left"], (cert["not_after_unix"] - time.time()) // 86400, delta=1)
            by_path.setdefault(cert["path"], []).append(cert["subject"])
        self.assertEqual(by_path[self.truststore], ["CN=Test Root CA"])
        self.assertEqual(by_path[self.keystore], ["CN=10.0.1.11", "CN=Test Intermediate CA"])
        self.assertEqual(by_path[c("agent.pem")], ["CN=10.0.1.11"])
        # The human table works too, and the HealthReport carries the same list.
        r = self.env.ctl("certs", json_out=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = wait_for(lambda: (lambda s: s if len(s.get("certificates", [])) == len(doc["certificates"]) else None)(
            self.env.status()), 10, "certificates in the health report")
        self.assertEqual(sorted(x["path"] for x in st["certificates"]), sorted(x["path"] for x in doc["certificates"]))
        self.assertEqual(self.env.conditions("CERT_EXPIRING"), [])

    def test_an_expiring_certificate_raises_cert_expiring(self):
        u = self.ok("ADD_TRUST", ca=["ca.pem", "short-ca.pem"])
        self.assertIn("warnings", u["message"])
        short = [x for x in self.env.ctl("certs")["certificates"] if x["subject"] == "CN=Short Lived CA"]
        self.assertEqual(len(short), 1)
        self.assertEqual(short[0]["path"], self.truststore)
        self.assertLessEqual(short[0]["days_left"], 10)
        self.assertGreaterEqual(short[0]["days_left"], 8)
        conds = wait_for(lambda: self.env.conditions("CERT_EXPIRING"), 10, "CERT_EXPIRING")
        self.assertEqual(len(conds), 1)
        self.assertTrue(conds[0]["subject"].startswith(self.truststore), conds[0])
        self.assertEqual(conds[0]["severity"], "SEVERITY_WARNING")
        self.assertIn("Short Lived CA", conds[0]["message"])
        # Removing it clears the condition.
        self.ok("SWITCH_IDENTITY", chain="node1-ec.pem", key="node1-ec.key")
        self.ok("REMOVE_TRUST", ca=["ca.pem"])
        wait_for(lambda: not self.env.conditions("CERT_EXPIRING"), 10, "CERT_EXPIRING cleared")


class Legacy311(RotationCase):
    cassandra = "3.11.18"

    def test_no_reloadssl_and_a_pending_restart(self):
        u = self.ok("ADD_TRUST", ca=["ca.pem"])
        self.assertIn("restart pending", u["message"])
        self.assertTrue(os.path.exists(self.truststore))
        self.assertEqual(self.reloads(), 0)
        cfg = wait_for(lambda: (lambda s: s if s["restart_pending"] else None)(self.env.status()["config"]), 10,
                       "restart pending")
        self.assertIn("server_encryption_options", cfg["pending_settings"])
        self.assertTrue(self.env.ctl("config")["restart_pending"])
        self.ok("SWITCH_IDENTITY", chain="node1-ec.pem", key="node1-ec.key")
        self.assertEqual(self.reloads(), 0)


class NativePortVerification(RotationCase):
    client_tls = True
    responder_cert = "node1-ec"   # what "Cassandra" presents on the native port at first

    def test_the_native_port_must_present_the_new_certificate(self):
        self.ok("ADD_TRUST", ca=["ca.pem", "ca2.pem"])
        # Client encryption names its own stores: written too.
        self.assertTrue(os.path.exists(self.client_truststore))
        u = self.ok("SWITCH_IDENTITY", chain="node1-ec.pem", key="node1-ec.key")
        self.assertIn("verified", u["message"])
        self.assertTrue(os.path.exists(self.client_keystore))
        self.assertEqual(self.reloads(), 2)

        # The port still serves node1-ec after switching to node2: FAILED, saying what it saw.
        u = self.rotate("SWITCH_IDENTITY", chain="node2.pem", key="node2.key")
        self.assertEqual(u["status"], "COMMAND_STATUS_FAILED", u)
        self.assertIn("presents", u["message"])
        self.assertIn(sha256_of_pem("node1-ec.pem").replace(":", "").lower()[:16], u["message"])
        self.assertEqual(self.reloads(), 3)
        # The stores stay written.
        with open(os.path.join(self.d, "certs", "identity.pem")) as f:
            self.assertEqual(ssl.PEM_cert_to_DER_cert(f.read()), ssl.PEM_cert_to_DER_cert(text("node2.pem")))
        if KEYTOOL:
            _, fps, _ = keytool(self.keystore, "ks-secret")
            self.assertEqual(fps, [sha256_of_pem("node2.pem")])
            _, fps, _ = keytool(self.client_keystore, "cks-secret")
            self.assertEqual(fps, [sha256_of_pem("node2.pem")])

        # Once the port serves node2, the retried phase writes nothing and verifies.
        before = self.snapshot()
        self.start_responder("node2", port=self.env.cql_port)
        u = self.ok("SWITCH_IDENTITY", chain="node2.pem", key="node2.key")
        self.assertIn("no change", u["message"])
        self.assertIn("verified", u["message"])
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.reloads(), 3)

    def test_a_closed_native_port_fails_the_verification(self):
        self.ok("ADD_TRUST", ca=["ca.pem"])
        os.killpg(self.responder.pid, signal.SIGTERM)
        self.responder.wait(5)
        u = self.rotate("SWITCH_IDENTITY", chain="node1-ec.pem", key="node1-ec.key")
        self.assertEqual(u["status"], "COMMAND_STATUS_FAILED", u)
        self.assertIn("cannot verify the native port", u["message"])
        self.assertTrue(os.path.exists(self.keystore))

    def test_a_silent_native_port_times_out_and_stop_during_verification_is_clean(self):
        self.ok("ADD_TRUST", ca=["ca.pem", "ca2.pem"])
        os.killpg(self.responder.pid, signal.SIGTERM)
        self.responder.wait(5)
        # A listener that completes TCP connections but never speaks TLS.
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        silent.bind(("127.0.0.1", self.env.cql_port))
        silent.listen(16)
        self.addCleanup(silent.close)
        t0 = time.monotonic()
        u = self.rotate("SWITCH_IDENTITY", chain="node1-ec.pem", key="node1-ec.key")
        self.assertEqual(u["status"], "COMMAND_STATUS_FAILED", u)
        self.assertIn("timed out", u["message"])
        self.assertGreaterEqual(time.monotonic() - t0, 4.5)
        # SIGTERM while a handshake hangs: the agent waits for it (at most 5 s) and exits cleanly.
        self.ctl.push({"id": "stop-mid", "rotate_certificates": {
            "phase": "ROTATION_PHASE_SWITCH_IDENTITY", "cert_chain_pem": text("node2.pem"), "key_pem": text("node2.key")}})
        wait_for(lambda: self.env.ctl("certs")["rotation"]["state"] == "verifying", 10, "verification under way")
        t0 = time.monotonic()
        self.assertEqual(self.env.stop_agent(timeout=15), 0, self.env.log()[-3000:])
        self.assertLess(time.monotonic() - t0, 5 + 3 * TIME_SCALE)  # the 5 s handshake bound, then exit
        self.assertNotIn("handles still open", self.env.log())
        self.assertIn("SWITCH_IDENTITY interrupted", self.env.log())
        with open(os.path.join(self.d, "certs", "identity.pem")) as f:
            self.assertEqual(ssl.PEM_cert_to_DER_cert(f.read()), ssl.PEM_cert_to_DER_cert(text("node2.pem")))


class JksTruststore(RotationCase):
    truststore_type = "jks"
    store_ext = "jks"

    def test_jks_truststore_and_pkcs12_keystore(self):
        self.need_keytool()
        self.bootstrap()
        self.ok("ADD_TRUST", ca=["ca2.pem"])
        entries, fps, _ = keytool(self.truststore, "ts-secret", "JKS")
        self.assertEqual([t for _, t in entries], ["trustedCertEntry", "trustedCertEntry"])
        self.assertEqual(sorted(fps), sorted([sha256_of_pem("ca.pem"), sha256_of_pem("ca2.pem")]))
        # JKS has no sound private key protection: the keystore is PKCS#12.
        entries, fps, _ = keytool(self.keystore, "ks-secret", "PKCS12")
        self.assertEqual([t for _, t in entries], ["PrivateKeyEntry"])
        self.assertEqual(fps, [sha256_of_pem("node1-ec.pem")])
        self.assertEqual(self.reloads(), 3)


class PemStores(RotationCase):
    truststore_type = "pem"
    store_ext = "pem"

    def test_pem_truststore_and_keystore(self):
        self.bootstrap(identity=("node1-chain.pem", "node1.key"))
        self.ok("ADD_TRUST", ca=["ca2.pem"])
        with open(self.truststore) as f:
            ts = f.read()
        self.assertEqual(ts.count("BEGIN CERTIFICATE"), 2)
        with open(self.keystore) as f:
            ks = f.read()
        # keystore_password is set in the fixture: the key is encrypted (PEMBasedSslContextFactory).
        self.assertIn("BEGIN ENCRYPTED PRIVATE KEY", ks)
        self.assertEqual(ks.count("BEGIN CERTIFICATE"), 2)
        r = subprocess.run(["openssl", "pkey", "-in", self.keystore, "-passin", "pass:ks-secret", "-pubout"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        r2 = subprocess.run(["openssl", "x509", "-in", c("node1.pem"), "-noout", "-pubkey"],
                            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.stdout, r2.stdout)
        paths = {x["path"] for x in self.env.ctl("certs")["certificates"]}
        self.assertIn(self.keystore, paths)
        self.assertIn(self.truststore, paths)


if __name__ == "__main__":
    unittest.main(verbosity=2)
