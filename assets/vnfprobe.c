/*
 * vnfprobe: the packet tool vnfpipe's verify step runs inside probe containers. Static, no libraries, so it
 * works in any image (even scratch); vnfpipe copies it into a probe container before start.
 *
 *   vnfprobe send ADDR PORT COUNT PAYLOAD    send COUNT datagrams "PAYLOAD-<n>", 50 ms apart
 *   vnfprobe sink PORT SECONDS [COUNT]       print datagrams received for SECONDS (or until COUNT), one per line
 *   vnfprobe udp ADDR PORT MILLIS PAYLOAD    send one datagram, print the answer (exit 1 without one)
 *   vnfprobe tcp ADDR PORT MILLIS            connect (exit 1 when refused or timed out)
 *   vnfprobe ifaces                          list interfaces with IPv4 addresses, then the default route
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int address(const char *ip, const char *port, struct sockaddr_in *out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((unsigned short)atoi(port));
  if (inet_pton(AF_INET, ip, &out->sin_addr) != 1) { fprintf(stderr, "vnfprobe: bad address %s\n", ip); return -1; }
  return 0;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int do_send(char **argv) {
  struct sockaddr_in to;
  if (address(argv[0], argv[1], &to)) return 2;
  int count = atoi(argv[2]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  char buf[1024];
  for (int i = 1; i <= count; i++) {
    int n = snprintf(buf, sizeof buf, "%s-%d", argv[3], i);
    if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof to) < 0) { perror("vnfprobe: sendto"); return 1; }
    usleep(50000);
  }
  printf("sent %d\n", count);
  return 0;
}

static int do_sink(char **argv) {
  struct sockaddr_in me;
  if (address("0.0.0.0", argv[0], &me)) return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0) { perror("vnfprobe: bind"); return 1; }
  printf("listening %s\n", argv[0]);
  fflush(stdout);
  long end = now_ms() + atoi(argv[1]) * 1000L;
  int wanted = argv[2] ? atoi(argv[2]) : 0, got = 0;
  char buf[2048];
  for (long left; (left = end - now_ms()) > 0 && (wanted == 0 || got < wanted);) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)left) <= 0) continue;
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
    if (n < 0) continue;
    buf[n] = 0;
    printf("from %s %s\n", inet_ntoa(from.sin_addr), buf);
    fflush(stdout);
    got++;
  }
  return 0;
}

static int do_udp(char **argv) {
  struct sockaddr_in to;
  if (address(argv[0], argv[1], &to)) return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sendto(fd, argv[3], strlen(argv[3]), 0, (struct sockaddr *)&to, sizeof to);
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, atoi(argv[2])) <= 0) { printf("no answer\n"); return 1; }
  char buf[2048];
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  if (n < 0) { perror("vnfprobe: recv"); return 1; }
  buf[n] = 0;
  printf("%s\n", buf);
  return 0;
}

static int do_tcp(char **argv) {
  struct sockaddr_in to;
  if (address(argv[0], argv[1], &to)) return 2;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS) { perror("vnfprobe: connect"); return 1; }
  struct pollfd p = {fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (poll(&p, 1, atoi(argv[2])) <= 0) { printf("timed out\n"); return 1; }
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) { printf("%s\n", strerror(err)); return 1; }
  printf("connected\n");
  return 0;
}

static int do_ifaces(void) {
  struct ifaddrs *list, *ifa;
  if (getifaddrs(&list) != 0) { perror("vnfprobe: getifaddrs"); return 1; }
  for (ifa = list; ifa; ifa = ifa->ifa_next) {
    if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET) continue;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, ip, sizeof ip);
    unsigned mask = ntohl(((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr.s_addr);
    int prefix = 0;
    while (mask & 0x80000000u) { prefix++; mask <<= 1; }
    printf("iface %s %s/%d\n", ifa->ifa_name, ip, prefix);
  }
  freeifaddrs(list);
  /* /proc/net/route: Iface Destination Gateway ... in little-endian hex; destination 0 is the default. */
  FILE *routes = fopen("/proc/net/route", "r");
  char line[256], name[IF_NAMESIZE + 1];
  unsigned dest, gateway;
  while (routes && fgets(line, sizeof line, routes)) {
    if (sscanf(line, "%16s %x %x", name, &dest, &gateway) == 3 && dest == 0) {
      struct in_addr gw = {gateway};
      printf("default %s %s\n", name, inet_ntoa(gw));
    }
  }
  if (routes) fclose(routes);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "ifaces") == 0) return do_ifaces();
  if (argc == 6 && strcmp(argv[1], "send") == 0) return do_send(argv + 2);
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "sink") == 0) return do_sink(argv + 2);
  if (argc == 6 && strcmp(argv[1], "udp") == 0) return do_udp(argv + 2);
  if (argc == 5 && strcmp(argv[1], "tcp") == 0) return do_tcp(argv + 2);
  fprintf(stderr, "usage: vnfprobe send ADDR PORT COUNT PAYLOAD | sink PORT SECONDS [COUNT] | udp ADDR PORT MILLIS PAYLOAD | tcp ADDR PORT MILLIS | ifaces\n");
  return 2;
}
