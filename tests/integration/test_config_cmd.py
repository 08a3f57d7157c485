#!/usr/bin/python3
"""Integration tests of the offline `cassandra-agentctl config show|set|unset|diff|rollback` command.

Runs the real binary on copies of the default cassandra.yaml of every supported version and checks
the result with PyYAML: the loaded result equals the loaded original with exactly the requested
changes, every comment line survives, the bytes outside the edited lines are identical, every
refusal leaves the file byte-identical, and a write failing at each step (CASSANDRA_AGENT_FAULT)
leaves the old file.

The command: $CONFIG_CMD if set (e.g. /tmp/config_cmd_driver built from config_cmd_driver.c),
else $BUILD_ROOT/cassandra-agentctl; it is run as `CMD config SUBCOMMAND ...`.
The default files: $SHARED_DATA/cassandra, else ../shared/data/cassandra from the project root;
without them the tests that need them print "SKIP: ../shared/data not found" and pass.
"""

import copy
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from collections import Counter

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.environ.get("PROJECT_ROOT") or os.path.dirname(os.path.dirname(HERE))

# (file, version for --version, seeds to set: ports only on 4.0+)
FILES = [
    ("cassandra-3.11.yaml", "3.11", "10.0.0.1,10.0.0.2,cassandra-3.example.net"),
    ("cassandra-4.0.yaml", "4.0", "10.0.0.1:7000,10.0.0.2:7000,[2001:db8::3]:7000"),
    ("cassandra-4.1.yaml", "4.1", "10.0.0.1:7000,10.0.0.2"),
    ("cassandra-5.0.yaml", "5.0", "10.0.0.1:7000,db2.example.net:7000"),
    ("cassandra_latest-5.0.yaml", "5.0", "10.0.0.1,10.0.0.2,10.0.0.1"),
]
YAML_SEEDS = "seed_provider[0].parameters[0].seeds"
FAULTS = ["write", "short_write", "fsync", "rename", "fsync_dir", "enospc"]


def shared_data():
    base = os.environ.get("SHARED_DATA") or os.path.join(PROJECT_ROOT, "..", "shared", "data")
    path = os.path.join(base, "cassandra")
    return path if os.path.isfile(os.path.join(path, "cassandra-5.0.yaml")) else None


def command():
    cmd = os.environ.get("CONFIG_CMD")
    if cmd:
        return cmd
    build = os.environ.get("BUILD_ROOT")
    if build and os.path.exists(os.path.join(build, "cassandra-agentctl")):
        return os.path.join(build, "cassandra-agentctl")
    raise unittest.SkipTest("no command: set CONFIG_CMD or BUILD_ROOT")


def skip_without_data(test):
    def wrapper(self):
        if shared_data() is None:
            print("SKIP: ../shared/data not found", file=sys.stderr)
            return
        return test(self)

    wrapper.__name__ = test.__name__
    wrapper.__doc__ = test.__doc__
    return wrapper


def comment_lines(text):
    return [line for line in text.splitlines(keepends=True) if line.lstrip(" ").startswith("#")]


def dedupe(seeds):
    out = []
    for s in seeds.split(","):
        if s.lower() not in [o.lower() for o in out]:
            out.append(s)
    return ",".join(out)


def apply_unified_diff(old, diff):
    """Applies a unified diff (as `config diff` prints it) to the text `old`."""
    lines = old.splitlines(keepends=True)
    out, pos = [], 0
    dl = diff.splitlines(keepends=True)
    i = 0
    while i < len(dl):
        m = re.match(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n$", dl[i])
        if not m:
            i += 1
            continue
        start = int(m.group(1))
        count = int(m.group(2)) if m.group(2) is not None else 1
        first = start - 1 if count else start
        out.extend(lines[pos:first])
        pos = first
        i += 1
        while i < len(dl) and not dl[i].startswith("@@"):
            tag, body = dl[i][0], dl[i][1:]
            if i + 1 < len(dl) and dl[i + 1].startswith("\\ No newline"):
                body = body[:-1]
                i += 1
            if tag == " ":
                assert lines[pos] == body, (lines[pos], body)
                out.append(body)
                pos += 1
            elif tag == "-":
                assert lines[pos] == body, (lines[pos], body)
                pos += 1
            elif tag == "+":
                out.append(body)
            i += 1
    out.extend(lines[pos:])
    return "".join(out)


class ConfigCmdTest(unittest.TestCase):
    def setUp(self):
        self.cmd = command()
        self.tmp = tempfile.mkdtemp(prefix="test_config_cmd.")
        self.yaml = os.path.join(self.tmp, "etc", "cassandra.yaml")
        os.makedirs(os.path.dirname(self.yaml))
        self.history = os.path.join(self.tmp, "state", "history")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_cmd(self, *args, fault=None, history=True, yaml_path=None):
        argv = [self.cmd, "config"] + list(args[:1]) + ["--yaml", yaml_path or self.yaml]
        if history:
            argv += ["--history", self.history]
        argv += list(args[1:])
        env = dict(os.environ)
        env.pop("CASSANDRA_AGENT_FAULT", None)
        if fault:
            env["CASSANDRA_AGENT_FAULT"] = fault
        p = subprocess.run(argv, capture_output=True, env=env, timeout=60)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def install(self, name=None, data=None):
        if data is None:
            with open(os.path.join(shared_data(), name), "rb") as f:
                data = f.read()
        with open(self.yaml, "wb") as f:
            f.write(data)
        os.chmod(self.yaml, 0o640)
        return data

    def read(self):
        with open(self.yaml, "rb") as f:
            return f.read()

    def history_copies(self):
        if not os.path.isdir(self.history):
            return []
        return sorted((n for n in os.listdir(self.history) if not n.startswith(".")), reverse=True)

    def hidden_files(self):
        return [n for n in os.listdir(os.path.dirname(self.yaml)) if n.startswith(".")]

    # Round trips on every default file.

    @skip_without_data
    def test_every_default_file_takes_seeds_nested_new_and_deleted_keys(self):
        for name, version, seeds in FILES:
            with self.subTest(file=name):
                orig = self.install(name)
                orig_text = orig.decode("utf-8")
                before = yaml.safe_load(orig_text)
                self.assertNotIn("phi_convict_threshold", before)
                self.assertIn("hinted_handoff_enabled", before)

                rc, out, err = self.run_cmd("set", "--version", version, "--seeds", seeds,
                                            "client_encryption_options.enabled=true", "phi_convict_threshold=12")
                self.assertEqual(rc, 0, err)
                after_set = self.read()
                rc, out, err = self.run_cmd("unset", "--version", version, "hinted_handoff_enabled")
                self.assertEqual(rc, 0, err)
                result = self.read().decode("utf-8")

                expected = copy.deepcopy(before)
                expected["seed_provider"][0]["parameters"][0]["seeds"] = dedupe(seeds)
                expected["client_encryption_options"]["enabled"] = True
                expected["phi_convict_threshold"] = 12
                del expected["hinted_handoff_enabled"]
                self.assertEqual(yaml.safe_load(result), expected)

                # every comment line of the original is still there
                self.assertEqual(Counter(comment_lines(orig_text)) - Counter(comment_lines(result)), Counter())

                # the bytes outside the edited lines are identical; the edited lines keep their key part
                old_lines = orig_text.splitlines(keepends=True)
                new_lines = result.splitlines(keepends=True)
                edited = {}
                sm = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
                for tag, i1, i2, j1, j2 in sm.get_opcodes():
                    if tag == "equal":
                        continue
                    if tag == "replace":
                        self.assertEqual((i2 - i1, j2 - j1), (1, 1), (old_lines[i1:i2], new_lines[j1:j2]))
                        old, new = old_lines[i1], new_lines[j1]
                        key = old.split(":", 1)[0]
                        self.assertTrue(new.startswith(key + ":"), (old, new))
                        edited[key.strip(" -")] = new
                    elif tag == "delete":
                        self.assertEqual(old_lines[i1:i2], ["hinted_handoff_enabled: true\n"])
                        edited["deleted"] = old_lines[i1]
                    else:
                        self.assertEqual(i1, len(old_lines), "insertion only at the end")
                        self.assertEqual(new_lines[j1:j2], ["phi_convict_threshold: 12\n"])
                        edited["appended"] = new_lines[j1]
                self.assertEqual(sorted(edited), ["appended", "deleted", "enabled", "seeds"])
                self.assertEqual(edited["seeds"].strip(), '- seeds: "%s"' % dedupe(seeds))

                # both writes saved the previous version
                copies = self.history_copies()
                self.assertEqual(len(copies), 2)
                with open(os.path.join(self.history, copies[0]), "rb") as f:
                    self.assertEqual(f.read(), after_set)
                with open(os.path.join(self.history, copies[1]), "rb") as f:
                    self.assertEqual(f.read(), orig)
                self.assertEqual(os.stat(self.yaml).st_mode & 0o7777, 0o640)
                shutil.rmtree(self.history)

    @skip_without_data
    def test_crlf_file_stays_crlf(self):
        orig = self.install("cassandra-5.0.yaml")
        data = orig.replace(b"\n", b"\r\n")
        self.install(data=data)
        rc, out, err = self.run_cmd("set", "--version", "5.0", "client_encryption_options.protocol=TLS",
                                    "phi_convict_threshold=12", "--seeds", "10.0.0.9")
        self.assertEqual(rc, 0, err)
        result = self.read()
        self.assertNotIn(b"\n", result.replace(b"\r\n", b""))
        expected = yaml.safe_load(orig)
        expected["client_encryption_options"]["protocol"] = "TLS"
        expected["phi_convict_threshold"] = 12
        expected["seed_provider"][0]["parameters"][0]["seeds"] = "10.0.0.9"
        self.assertEqual(yaml.safe_load(result), expected)

    @skip_without_data
    def test_show_json_reads_like_pyyaml(self):
        for name, _, _ in FILES:
            with self.subTest(file=name):
                orig = self.install(name)
                rc, out, err = self.run_cmd("show", "--json", history=False)
                self.assertEqual(rc, 0, err)
                self.assertEqual(json.loads(out)["config"], yaml.safe_load(orig))
        rc, out, err = self.run_cmd("show", "cluster_name", history=False)
        self.assertEqual((rc, out), (0, "Test Cluster\n"))
        rc, out, err = self.run_cmd("show", "seed_provider[0].parameters[0].seeds", "--json", history=False)
        self.assertEqual(json.loads(out)["values"], {"seed_provider[0].parameters[0].seeds": "127.0.0.1:7000"})
        rc, out, err = self.run_cmd("show", "no_such_key", history=False)
        self.assertEqual(rc, 1)
        self.assertIn("no_such_key: not set", err)

    # Refusals: each leaves the file byte-identical and saves nothing.

    def assert_refused(self, args, want, version="5.0", rc_want=1):
        before = self.read()
        rc, out, err = self.run_cmd(args[0], "--version", version, *args[1:])
        self.assertEqual(rc, rc_want, "%s accepted: %s %s" % (args, out, err))
        self.assertIn(want, err)
        self.assertEqual(self.read(), before, "%s changed the file" % (args,))
        self.assertEqual(self.history_copies(), [])
        self.assertEqual(self.hidden_files(), [])

    @skip_without_data
    def test_refused_edits_leave_the_file_byte_identical(self):
        cases = [
            ("5.0", ["set", "no_such_setting=1"], "no_such_setting: unknown key for Cassandra 5.0"),
            ("5.0", ["set", "concurrent_reads=abc"], "expects an integer"),
            ("5.0", ["set", "hinted_handoff_enabled=maybe"], "expects a boolean"),
            ("4.1", ["set", "read_request_timeout=5000"], "'5000' has no unit"),
            ("4.1", ["set", "max_value_size=256"], "has no unit"),
            ("5.0", ["set", "read_request_timeout_in_ms=5000"],
             "both read_request_timeout_in_ms and read_request_timeout are set"),
            ("5.0", ["set", "cluster_name=Other"], "cluster_name: protected"),
            ("5.0", ["set", "num_tokens=8"], "num_tokens: protected"),
            ("5.0", ["unset", "partitioner"], "partitioner: protected"),
            ("5.0", ["set", "data_file_directories=[/data]"], "data_file_directories: protected"),
            ("5.0", ["set", "--seeds", ""], "the seed list may not be empty"),
            ("5.0", ["set", "--seeds", "10.0.0.1;reboot"], "';' not allowed"),
            ("5.0", ["set", "--seeds", "$(reboot)"], "'$' not allowed"),
            ("5.0", ["set", "--seeds", "`id`"], "'`' not allowed"),
            ("5.0", ["set", "--seeds", "10.0.0.1, 10.0.0.2"], "(space)"),
            ("5.0", ["set", "--seeds", "10.0.0.1 10.0.0.2"], "(space)"),
            ("5.0", ["set", "--seeds", "10.0.0.1,,10.0.0.2"], "empty seed"),
            ("3.11", ["set", "--seeds", "10.0.0.1:7000"], "needs Cassandra 4.0"),
            ("5.0", ["set", "client_encryption_options.enabled=[1]"], "expects a boolean"),
            ("5.0", ["set", "seed_provider[3].class_name=x"], "list has no item [3]"),
        ]
        for version, args, want in cases:
            with self.subTest(args=args):
                self.install("cassandra-%s.yaml" % version)
                self.assert_refused(args, want, version)

    @skip_without_data
    def test_refused_files_stay_byte_identical(self):
        with open(os.path.join(shared_data(), "cassandra-5.0.yaml"), "rb") as f:
            base = f.read()
        big = base + b"".join(b"# padding line %08d ........................................\n" % i
                              for i in range((20 << 20) // 64))
        self.assertGreaterEqual(len(big), 20 << 20)
        cases = [
            ("does not parse", base + b"\nbroken: [1, 2\n", "the file is refused"),
            ("duplicate keys", base + b"\ncluster_name: 'Again'\n", "duplicate key 'cluster_name'"),
            ("tabs", base + b"\nextra_block:\n\tkey: 1\n", "tab in indentation"),
            ("non-UTF-8", base + b"\n# caf\xe9\n", "invalid UTF-8"),
            ("NUL byte", base + b"\n# a\x00b\n", "NUL byte"),
            ("two documents", base + b"\n---\nother: 1\n", "more than one document"),
            ("20 MiB", big, "larger than 16 MiB"),
        ]
        for what, data, want in cases:
            with self.subTest(file=what):
                self.install(data=data)
                self.assert_refused(["set", "concurrent_reads=64"], want)
                self.assert_refused(["unset", "concurrent_reads"], want)

    @skip_without_data
    def test_failed_writes_leave_the_old_file(self):
        for fault in FAULTS:
            with self.subTest(fault=fault):
                orig = self.install("cassandra-5.0.yaml")
                rc, out, err = self.run_cmd("set", "--version", "5.0", "concurrent_reads=64", fault=fault)
                self.assertEqual(rc, 1, out + err)
                self.assertIn("not written", err)
                self.assertIn("(injected)", err)
                self.assertEqual(self.read(), orig)
                self.assertEqual(self.hidden_files(), [])
                self.assertEqual(self.history_copies(), [])
                self.assertEqual(os.stat(self.yaml).st_mode & 0o7777, 0o640)
        rc, out, err = self.run_cmd("set", "--version", "5.0", "concurrent_reads=64")
        self.assertEqual(rc, 0, err)
        self.assertIn(b"\nconcurrent_reads: 64\n", self.read())

    # diff, dry-run, rollback, JSON, usage.

    @skip_without_data
    def test_diff_prints_a_unified_diff_that_applies(self):
        orig = self.install("cassandra-4.1.yaml")
        rc, out, err = self.run_cmd("diff", "--version", "4.1", "concurrent_reads=64", "phi_convict_threshold=12",
                                    "--seeds", "10.0.0.1:7000")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.read(), orig)
        self.assertTrue(out.startswith("--- %s\n+++ %s\n@@ -" % (self.yaml, self.yaml)), out[:200])
        self.assertIn("\n-concurrent_reads: 32\n+concurrent_reads: 64\n", out)
        patched = apply_unified_diff(orig.decode(), out)
        rc, out2, err = self.run_cmd("set", "--version", "4.1", "concurrent_reads=64", "phi_convict_threshold=12",
                                     "--seeds", "10.0.0.1:7000")
        self.assertEqual(rc, 0, err)
        self.assertEqual(patched.encode(), self.read())

    @skip_without_data
    def test_dry_run_writes_nothing(self):
        orig = self.install("cassandra-5.0.yaml")
        rc, out, err = self.run_cmd("set", "--version", "5.0", "--dry-run", "concurrent_reads=64")
        self.assertEqual(rc, 0, err)
        self.assertIn("+concurrent_reads: 64", out)
        rc, out, err = self.run_cmd("unset", "--version", "5.0", "--dry-run", "concurrent_reads")
        self.assertEqual(rc, 0, err)
        self.assertIn("-concurrent_reads: 32", out)
        self.assertEqual(self.read(), orig)
        self.assertEqual(self.history_copies(), [])

    @skip_without_data
    def test_rollback_restores_the_previous_version_and_can_be_undone(self):
        orig = self.install("cassandra-5.0.yaml")
        rc, out, err = self.run_cmd("rollback")
        self.assertEqual(rc, 1)
        self.assertIn("no history copy of cassandra.yaml", err)
        self.assertEqual(self.run_cmd("set", "--version", "5.0", "concurrent_reads=64")[0], 0)
        first = self.read()
        self.assertEqual(self.run_cmd("set", "--version", "5.0", "concurrent_writes=64")[0], 0)
        second = self.read()
        rc, out, err = self.run_cmd("rollback", "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertIn("-concurrent_writes: 64\n+concurrent_writes: 32\n", out)
        self.assertEqual(self.read(), second)
        rc, out, err = self.run_cmd("rollback")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.read(), first)
        rc, out, err = self.run_cmd("rollback")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.read(), second)
        self.assertNotEqual(first, orig)

    @skip_without_data
    def test_history_keeps_the_newest_copies(self):
        self.install("cassandra-5.0.yaml")
        for i in range(5):
            rc, out, err = self.run_cmd("set", "--version", "5.0", "--keep", "3", "concurrent_reads=%d" % (40 + i))
            self.assertEqual(rc, 0, err)
        copies = self.history_copies()
        self.assertEqual(len(copies), 3)
        with open(os.path.join(self.history, copies[0]), "rb") as f:
            self.assertIn(b"\nconcurrent_reads: 43\n", f.read())

    @skip_without_data
    def test_json_result_objects(self):
        self.install("cassandra-5.0.yaml")
        rc, out, err = self.run_cmd("set", "--version", "5.0", "--json", "concurrent_reads=64",
                                    "client_encryption_options.accepted_protocols=[TLSv1.2]")
        self.assertEqual(rc, 0, err)
        r = json.loads(out)
        self.assertEqual((r["ok"], r["changed"], r["written"], r["dry_run"], r["version"]), (True, True, True, False, "5.0"))
        self.assertTrue(os.path.isfile(r["history"]))
        self.assertTrue(any("accepted_protocols" in w for w in r["warnings"]))
        self.assertIn("+concurrent_reads: 64", r["diff"])
        rc, out, err = self.run_cmd("set", "--version", "5.0", "--json", "concurrent_reads=x")
        self.assertEqual(rc, 1)
        r = json.loads(out)
        self.assertFalse(r["ok"])
        self.assertIn("expects an integer", r["error"])
        rc, out, err = self.run_cmd("set", "--version", "5.0", "--json", "concurrent_reads=64")
        self.assertEqual(rc, 0)
        self.assertFalse(json.loads(out)["changed"])

    @skip_without_data
    def test_usage_errors_exit_2(self):
        orig = self.install("cassandra-5.0.yaml")
        for args, want in [
            (["set", "concurrent_reads=1"], "--version X.Y is required"),
            (["set", "--version", "3.0", "concurrent_reads=1"], "supported versions are 3.11, 4.0, 4.1 and 5.0"),
            (["set", "--version", "5.0"], "nothing to do"),
            (["set", "--version", "5.0", "concurrent_reads"], "expected KEY=VALUE"),
            (["unset", "--version", "5.0", "a=b"], "give the KEY only"),
            (["frobnicate"], "unknown subcommand"),
            (["set", "--version", "5.0", "--bogus", "a=1"], "unknown option --bogus"),
        ]:
            with self.subTest(args=args):
                rc, out, err = self.run_cmd(*args)
                self.assertEqual(rc, 2, out + err)
                self.assertIn(want, err)
        self.assertEqual(self.read(), orig)

    @skip_without_data
    def test_external_seeds_are_kept_after_the_managed_ones(self):
        self.install("cassandra-4.1.yaml")
        rc, out, err = self.run_cmd("set", "--version", "4.1", "--seeds", "10.0.0.2,10.0.0.1,10.0.0.2",
                                    "--external-seeds", "192.168.7.1:7000,10.0.0.1")
        self.assertEqual(rc, 0, err)
        seeds = yaml.safe_load(self.read())["seed_provider"][0]["parameters"][0]["seeds"]
        self.assertEqual(seeds, "10.0.0.2,10.0.0.1,192.168.7.1:7000")
        rc, out, err = self.run_cmd("show", YAML_SEEDS, history=False)
        self.assertEqual(out, seeds + "\n")

    @skip_without_data
    def test_no_validate_edits_without_a_version(self):
        self.install("cassandra-5.0.yaml")
        rc, out, err = self.run_cmd("set", "--no-validate", "my_custom_setting=1")
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.read().endswith(b"\nmy_custom_setting: 1\n"))
        rc, out, err = self.run_cmd("set", "--no-validate", "cluster_name=x")
        self.assertEqual(rc, 1)
        self.assertIn("protected", err)
        rc, out, err = self.run_cmd("set", "--no-validate", "--force", "cluster_name=x")
        self.assertEqual(rc, 0, err)
        self.assertEqual(yaml.safe_load(self.read())["cluster_name"], "x")


if __name__ == "__main__":
    unittest.main(verbosity=2)
