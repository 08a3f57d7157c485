// prelude.js: the part of polkitd's JavaScript environment that conf/cassandra-agent.polkit.rules
// uses (polkit 0.121+ init.js: polkit.Result, polkit.addRule, action.id, action.lookup(),
// subject.user), loaded into duktape before the rules file. cases.js runs after it.
var polkit = {
	Result: {
		NO: "no",
		YES: "yes",
		AUTH_SELF: "auth_self",
		AUTH_SELF_KEEP: "auth_self_keep",
		AUTH_ADMIN: "auth_admin",
		AUTH_ADMIN_KEEP: "auth_admin_keep",
		NOT_HANDLED: null
	},
	_rules: [],
	addRule: function (rule) { this._rules.push(rule); },
	addAdminRule: function (rule) { throw new Error("the agent's rules file must not add admin rules"); },
	log: function (msg) { print("polkit.log: " + msg); },
	spawn: function (argv) { throw new Error("the agent's rules file must not spawn " + argv); }
};

// Asks every rule in order, as polkitd does: the first that returns a result decides.
function decide(actionId, details, user, groups) {
	var action = {
		id: actionId,
		lookup: function (key) { return details[key]; }
	};
	var subject = {
		user: user,
		groups: groups || [],
		pid: 4242,
		local: false,
		active: false,
		session: "",
		isInGroup: function (g) { return this.groups.indexOf(g) >= 0; },
		isInNetGroup: function () { return false; }
	};
	for (var i = 0; i < polkit._rules.length; i++) {
		var r = polkit._rules[i](action, subject);
		if (r !== null && r !== undefined)
			return r;
	}
	return null;
}
