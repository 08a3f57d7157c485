// cases.js: what conf/cassandra-agent.polkit.rules allows and what it leaves to the defaults
// (loaded after prelude.js and the rules file). Prints one line per case and "N passed, N
// failed"; throws (duk exits 1) when a case failed.
var YES = polkit.Result.YES, NOT_HANDLED = polkit.Result.NOT_HANDLED;
var AGENT = "cassandra-agent";
var UNITS = "org.freedesktop.systemd1.manage-units";
var passed = 0, failed = 0;

function expect(want, actionId, details, user, what) {
	var got = decide(actionId, details, user, ["cassandra"]);
	if (got === want) {
		passed++;
		print("ok   " + what + " -> " + (got === null ? "NOT_HANDLED" : got));
	} else {
		failed++;
		print("FAIL " + what + ": want " + (want === null ? "NOT_HANDLED" : want) + ", got " +
		      (got === null ? "NOT_HANDLED" : got));
	}
}

function unit(want, name, verb) {
	expect(want, UNITS, { unit: name, verb: verb }, AGENT, verb + " " + JSON.stringify(name).slice(1, -1));
}

if (polkit._rules.length !== 1)
	throw new Error("the rules file should add exactly one rule, it added " + polkit._rules.length);

// What the agent does: start, stop and restart Cassandra; start the patch units; reboot.
unit(YES, "cassandra.service", "start");
unit(YES, "cassandra.service", "stop");
unit(YES, "cassandra.service", "restart");
unit(YES, "cassandra-agent-patch.service", "start");
unit(YES, "cassandra-agent-upgrade@4.1.5.service", "start");
unit(YES, "cassandra-agent-upgrade@5.0.2.service", "start");
expect(YES, "org.freedesktop.login1.reboot", {}, AGENT, "reboot");
expect(YES, "org.freedesktop.login1.reboot-multiple-sessions", {}, AGENT, "reboot with other sessions");
expect(YES, "org.freedesktop.login1.reboot-ignore-inhibit", {}, AGENT, "reboot past an inhibitor");

// Other verbs on the same units.
unit(NOT_HANDLED, "cassandra.service", "reload");
unit(NOT_HANDLED, "cassandra.service", "try-restart");
unit(NOT_HANDLED, "cassandra.service", "reload-or-restart");
unit(NOT_HANDLED, "cassandra.service", "kill");
unit(NOT_HANDLED, "cassandra-agent-patch.service", "stop");
unit(NOT_HANDLED, "cassandra-agent-patch.service", "restart");
unit(NOT_HANDLED, "cassandra-agent-upgrade@4.1.5.service", "stop");

// Other units, and names that only look like ours.
unit(NOT_HANDLED, "ssh.service", "start");
unit(NOT_HANDLED, "cassandra-agent.service", "stop");
unit(NOT_HANDLED, "cassandra.service.d", "start");
unit(NOT_HANDLED, "cassandra.socket", "start");
unit(NOT_HANDLED, "cassandra-agent-upgrade@.service", "start");
unit(NOT_HANDLED, "cassandra-agent-upgrade@latest.service", "start");
unit(NOT_HANDLED, "cassandra-agent-upgrade@4.1.5-1~bpo.service", "start");
unit(NOT_HANDLED, "cassandra-agent-upgrade@4.1.5\\x20openssh-server.service", "start");
unit(NOT_HANDLED, "cassandra-agent-upgrade@4.1.5.service.bak", "start");
unit(NOT_HANDLED, "xcassandra-agent-patch.service", "start");
unit(NOT_HANDLED, "cassandra-agent-patch.service\nssh.service", "start");
expect(NOT_HANDLED, UNITS, {}, AGENT, "manage-units without details (systemd < 226)");
expect(NOT_HANDLED, UNITS, { unit: "cassandra.service" }, AGENT, "manage-units without a verb");

// Other actions.
expect(NOT_HANDLED, "org.freedesktop.systemd1.manage-unit-files", {}, AGENT, "enable or disable units");
expect(NOT_HANDLED, "org.freedesktop.systemd1.reload-daemon", {}, AGENT, "daemon-reload");
expect(NOT_HANDLED, "org.freedesktop.login1.power-off", {}, AGENT, "power off");
expect(NOT_HANDLED, "org.freedesktop.login1.halt", {}, AGENT, "halt");
expect(NOT_HANDLED, "org.freedesktop.login1.set-reboot-parameter", {}, AGENT, "set the reboot parameter");
expect(NOT_HANDLED, "org.freedesktop.packagekit.package-install", {}, AGENT, "install a package");

// Other users get nothing from this file, even for what the agent may do.
expect(NOT_HANDLED, UNITS, { unit: "cassandra.service", verb: "stop" }, "cassandra", "user cassandra stops cassandra.service");
expect(NOT_HANDLED, UNITS, { unit: "cassandra-agent-patch.service", verb: "start" }, "nobody", "user nobody starts the patch unit");
expect(NOT_HANDLED, "org.freedesktop.login1.reboot", {}, "cassandra", "user cassandra reboots");
expect(NOT_HANDLED, "org.freedesktop.login1.reboot", {}, "cassandra-agentx", "user cassandra-agentx reboots");

print(passed + " passed, " + failed + " failed");
if (failed)
	throw new Error(failed + " case(s) failed");
