/* status_load: N clients ask the status socket for `status` as fast as they can for S seconds;
 * prints replies per second. Usage: status_load SOCKET CLIENTS SECONDS [COMMAND] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;
static char request[256];
static atomic_long replies;
static atomic_int stop;
static atomic_long reply_bytes;

static void *client(void *arg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *buf = malloc(1 << 22);
	size_t req_len = strlen(request);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	(void)arg;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	if (!buf || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("connect");
		exit(1);
	}
	while (!atomic_load(&stop)) {
		size_t got = 0;

		if (write(fd, request, req_len) != (ssize_t)req_len) {
			perror("write");
			exit(1);
		}
		for (;;) {
			ssize_t n = read(fd, buf, 1 << 22);

			if (n <= 0) {
				perror("read");
				exit(1);
			}
			got += (size_t)n;
			if (buf[n - 1] == '\n')
				break;
		}
		atomic_fetch_add(&replies, 1);
		atomic_fetch_add(&reply_bytes, (long)got);
	}
	close(fd);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	int clients, seconds;
	pthread_t th[64];
	struct timespec t0, t1;
	double dt;

	if (argc < 4) {
		fprintf(stderr, "usage: status_load SOCKET CLIENTS SECONDS [COMMAND]\n");
		return 2;
	}
	sock_path = argv[1];
	clients = atoi(argv[2]);
	seconds = atoi(argv[3]);
	snprintf(request, sizeof request, "%s\n", argc > 4 ? argv[4] : "status");
	if (clients < 1 || clients > 64 || seconds < 1)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, client, NULL);
	sleep((unsigned)seconds);
	atomic_store(&stop, 1);
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld replies in %.2f s with %d clients: %.0f replies/s, %.0f bytes/reply\n", atomic_load(&replies), dt,
	       clients, (double)atomic_load(&replies) / dt,
	       atomic_load(&replies) ? (double)atomic_load(&reply_bytes) / (double)atomic_load(&replies) : 0.0);
	return 0;
}
