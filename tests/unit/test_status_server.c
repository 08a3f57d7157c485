/* Tests of the status socket: a real server on a real loop (in a thread), real Unix clients. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "config.h"
#include "health.h"
#include "status_server.h"
#include "check_run.h"

static uv_loop_t loop;
static uv_async_t stop_async;
static pthread_t loop_thread;
static struct agent_config cfg;
static struct health *health;
static struct status_server *server;
static char dir[48], sock_path[96];

static void stop_cb(uv_async_t *a)
{
	status_server_stop(server);
	uv_close((uv_handle_t *)a, NULL);
}

static void *loop_main(void *arg)
{
	(void)arg;
	uv_run(&loop, UV_RUN_DEFAULT);
	return NULL;
}

static void setup(void)
{
	char err[256];
	struct nt_status st = {0};

	snprintf(dir, sizeof dir, "/tmp/status-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof sock_path, "%s/agent.sock", dir);
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_int_eq(health_new(&cfg, &health), 0);
	/* A ring of two peers, one down, so the documents have content. */
	st.n_peers = 2;
	st.peers = calloc(2, sizeof *st.peers);
	snprintf(st.peers[0].address, sizeof st.peers[0].address, "127.0.0.1");
	snprintf(st.peers[1].address, sizeof st.peers[1].address, "10.0.0.2");
	for (int i = 0; i < 2; i++) {
		snprintf(st.peers[i].datacenter, NT_NAME_MAX, "dc1");
		snprintf(st.peers[i].rack, NT_NAME_MAX, "rack%d", i + 1);
		st.peers[i].state = 'N';
		st.peers[i].tokens = 16;
	}
	st.peers[0].status = 'U';
	st.peers[1].status = 'D';
	health_update_status(health, &st);

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	/* Group "daemon" (gid 1 on Debian) plays status.group. */
	ck_assert_int_eq(status_server_start(&loop, sock_path, "daemon", health, &server, err, sizeof err), 0);
	uv_async_init(&loop, &stop_async, stop_cb);
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
}

static void teardown(void)
{
	uv_async_send(&stop_async);
	pthread_join(loop_thread, NULL);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	health_free(health);
	config_free(&cfg);
	rmdir(dir);
}

static int client_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Reads one reply line (malloc'd) or NULL at EOF. */
static char *read_line(int fd)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);

	for (;;) {
		ssize_t n = read(fd, buf + len, 1);

		if (n <= 0) {
			free(buf);
			return NULL;
		}
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return buf;
		}
		if (++len == cap - 1)
			buf = realloc(buf, cap *= 2);
	}
}

static json_t *request(int fd, const char *line)
{
	json_error_t jerr;
	char *reply;
	json_t *j;

	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	reply = read_line(fd);
	ck_assert_ptr_nonnull(reply);
	j = json_loads(reply, 0, &jerr);
	ck_assert_msg(j != NULL, "invalid JSON: %s", reply);
	free(reply);
	return j;
}

START_TEST(status_replies_the_health_report_with_proto_field_names)
{
	int fd = client_connect();
	json_t *j = request(fd, "status\n");

	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "node"), "datacenter")), "dc1");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ring")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "ring"), 1), "status")),
			 "PEER_STATUS_DOWN");
	ck_assert_ptr_nonnull(json_object_get(j, "collected_at_unix_ms"));
	/* The down peer raised PEER_DOWN with the peer's address as subject. */
	json_t *c = json_array_get(json_object_get(j, "conditions"), 0);

	ck_assert_str_eq(json_string_value(json_object_get(c, "code")), "PEER_DOWN");
	ck_assert_str_eq(json_string_value(json_object_get(c, "subject")), "10.0.0.2");
	json_decref(j);
	/* The connection stays open for further lines. */
	j = request(fd, "version\n");
	ck_assert_str_eq(json_string_value(json_object_get(j, "agent_version")), AGENT_VERSION);
	json_decref(j);
	close(fd);
}
END_TEST

START_TEST(ring_and_events_documents)
{
	int fd = client_connect();
	json_t *j = request(fd, "ring\n");

	ck_assert_uint_eq(json_array_size(json_object_get(j, "ring")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "ring"), 0), "rack")),
			 "rack1");
	json_decref(j);
	j = request(fd, "events\n");
	ck_assert(json_is_array(json_object_get(j, "events")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "events"), 0), "kind")),
			 "condition_raised");
	json_decref(j);
	close(fd);
}
END_TEST

START_TEST(unknown_command_and_garbage_get_an_error_and_the_connection_stays)
{
	int fd = client_connect();
	json_t *j = request(fd, "frobnicate\n");

	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "unknown command"));
	json_decref(j);
	j = request(fd, "\x01\x02\xff\xfe garbage\n");
	ck_assert_ptr_nonnull(json_object_get(j, "error"));
	json_decref(j);
	j = request(fd, "\n");
	ck_assert_ptr_nonnull(json_object_get(j, "error"));
	json_decref(j);
	j = request(fd, "status\r\n");
	ck_assert_ptr_nonnull(json_object_get(j, "node"));
	json_decref(j);
	close(fd);
}
END_TEST

START_TEST(a_one_mebibyte_line_is_refused_and_closed_while_others_are_served)
{
	int big = client_connect(), idle = client_connect(), other;
	size_t n = 1024 * 1024;
	char *line = malloc(n + 1);
	ssize_t w = 0;
	char *reply;
	json_t *j;

	memset(line, 'a', n);
	line[n] = '\n';
	/* The server closes after 4 KiB, so the write may stop early with EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	while ((size_t)w < n + 1) {
		ssize_t k = write(big, line + w, n + 1 - (size_t)w);

		if (k <= 0)
			break;
		w += k;
	}
	free(line);
	reply = read_line(big);
	ck_assert_ptr_nonnull(reply);
	ck_assert_ptr_nonnull(strstr(reply, "line too long"));
	free(reply);
	ck_assert_ptr_null(read_line(big)); /* then closed */
	close(big);

	/* An idle client and a new one: the new one is served at once. */
	other = client_connect();
	j = request(other, "status\n");
	ck_assert_ptr_nonnull(json_object_get(j, "node"));
	json_decref(j);
	close(other);
	close(idle);
}
END_TEST

START_TEST(socket_is_mode_0660)
{
	struct stat st;

	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0660);
}
END_TEST

/* A hook that reports what the server learned about the peer. */
static char *peer_hook(void *data, const struct status_peer *peer, int argc, char **argv, struct status_call *call)
{
	char buf[128];

	(void)data;
	(void)call;
	if (argc != 1 || strcmp(argv[0], "whoami") != 0)
		return NULL;
	snprintf(buf, sizeof buf, "{\"uid\":%d,\"privileged\":%s}", (int)peer->uid,
		 peer->privileged ? "true" : "false");
	return strdup(buf);
}

START_TEST(peer_credentials_decide_privilege)
{
	int fd;
	json_t *j;

	status_server_set_command_fn(server, peer_hook, NULL);
	fd = client_connect();
	j = request(fd, "whoami\n");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "uid")), (json_int_t)getuid());
	ck_assert(json_is_true(json_object_get(j, "privileged"))); /* root or the agent's own user */
	json_decref(j);
	close(fd);
	if (getuid() != 0) {
		fprintf(stderr, "SKIP: outsider check needs root to switch to uid 65534\n");
		return;
	}
	/* An outsider (nobody, not in the status group) is not privileged; nobody with the
	 * status group as a supplementary group is. */
	chmod(dir, 0755);
	chmod(sock_path, 0666);
	for (int member = 0; member < 2; member++) {
		struct group *gr = getgrnam("daemon");
		pid_t pid;
		int status = 0;

		ck_assert_ptr_nonnull(gr);
		gid_t extra = gr->gr_gid;

		pid = fork();
		if (pid == 0) {
			if (setgroups(member ? 1 : 0, &extra) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
				_exit(3);
			fd = client_connect();
			if (write(fd, "whoami\n", 7) != 7)
				_exit(4);
			char *reply = read_line(fd);

			_exit(reply && strstr(reply, member ? "\"privileged\":true" : "\"privileged\":false") &&
					      strstr(reply, "\"uid\":65534")
				      ? 0
				      : 5);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(WEXITSTATUS(status) == 0, "member=%d exit %d", member, WEXITSTATUS(status));
	}
}
END_TEST

START_TEST(split_line_words_and_refusals)
{
	char a[] = "  snapshot\ttake  --tag t1 ", b[] = "x\x01y", c[] = "";
	char *argv[4];

	ck_assert_int_eq(status_split_line(a, argv, 4), 4);
	ck_assert_str_eq(argv[0], "snapshot");
	ck_assert_str_eq(argv[1], "take");
	ck_assert_str_eq(argv[3], "t1");
	ck_assert_int_eq(status_split_line(b, argv, 4), -EINVAL);
	ck_assert_int_eq(status_split_line(c, argv, 4), 0);
	char d[] = "a b c d e";

	ck_assert_int_eq(status_split_line(d, argv, 4), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("status_server");
	TCase *tc = tcase_create("socket");
	TCase *pure = tcase_create("pure");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, status_replies_the_health_report_with_proto_field_names);
	tcase_add_test(tc, ring_and_events_documents);
	tcase_add_test(tc, unknown_command_and_garbage_get_an_error_and_the_connection_stays);
	tcase_add_test(tc, a_one_mebibyte_line_is_refused_and_closed_while_others_are_served);
	tcase_add_test(tc, socket_is_mode_0660);
	tcase_add_test(tc, peer_credentials_decide_privilege);
	tcase_add_test(pure, split_line_words_and_refusals);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, pure);
	return s;
}

int main(void)
{
	return check_run(suite());
}
