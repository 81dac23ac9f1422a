/*
 * fwd: a UDP forwarder with a management side and a data plane.
 *   fwd <port> <sink-ip> <sink-port>
 * A datagram "ping" is answered with "pong" (a health check on any interface); every other datagram is sent
 * on to the sink. Exits 0 on SIGTERM. Built static, so the image needs nothing but this file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: fwd <port> <sink-ip> <sink-port>\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term; /* no SA_RESTART: recvfrom returns EINTR on SIGTERM */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in self = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  self.sin_addr.s_addr = htonl(INADDR_ANY);
  if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof self) != 0) {
    perror("fwd: bind");
    return 1;
  }
  struct sockaddr_in sink = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3]))};
  if (inet_pton(AF_INET, argv[2], &sink.sin_addr) != 1) {
    fprintf(stderr, "fwd: sink address '%s' is not IPv4\n", argv[2]);
    return 2;
  }
  printf("fwd: listening on %s, forwarding to %s:%s\n", argv[1], argv[2], argv[3]);
  fflush(stdout);

  char buf[2048];
  while (!stopping) {
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("fwd: recvfrom");
      return 1;
    }
    if (n == 4 && memcmp(buf, "ping", 4) == 0) {
      sendto(fd, "pong", 4, 0, (struct sockaddr *)&from, fromlen);
    } else {
      sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&sink, sizeof sink);
    }
  }
  printf("fwd: stopping\n");
  return 0;
}
