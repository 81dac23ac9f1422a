/*
 * vnfprobe: the packet tool vnfpipe's verify step runs inside probe containers. Static, no libraries, so it
 * works in any image (even scratch); vnfpipe copies it into a probe container before start.
 *
 *   vnfprobe send ADDR PORT COUNT PAYLOAD    send COUNT datagrams "PAYLOAD-<n>", 50 ms apart
 *   vnfprobe sink PORT SECONDS [COUNT]       print datagrams received for SECONDS (or until COUNT), one per line
 *   vnfprobe udp ADDR PORT MILLIS PAYLOAD    send one datagram, print the answer (exit 1 without one)
 *   vnfprobe tcp ADDR PORT MILLIS            connect (exit 1 when refused or timed out)
 *   vnfprobe ifaces                          list interfaces with IPv4 addresses, then the default route
 *   vnfprobe xchg ADDR PORT MILLIS HEX       send one datagram (hex bytes), print the answer as hex
 *   vnfprobe sendhex ADDR PORT COUNT HEX     send COUNT copies of a datagram (hex bytes), 50 ms apart
 *   vnfprobe sinkhex PORT SECONDS [COUNT]    like sink, datagrams printed as hex
 *   vnfprobe ping ADDR SIZE DF MILLIS        one ICMP echo with SIZE payload bytes, DF set when DF is 1
 *   vnfprobe sctp ADDR PORT MILLIS           SCTP association (INIT); fails naming a kernel without SCTP
 *   vnfprobe blast ADDR PORT PPS MILLIS SIZE RUN   paced datagrams with sequence numbers and send times
 *   vnfprobe count PORT SECONDS IDLEMS RUN   count blast datagrams: loss, reordering, latency percentiles
 *
 * Protocol bytes (GTP-U, PFCP, DNS) are encoded and decoded by vnfpipe itself; this tool only moves them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <stdint.h>
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


static int unhex(const char *hex, unsigned char *out, size_t cap) {
  size_t n = strlen(hex);
  if (n % 2 || n / 2 > cap) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (unsigned char)v;
  }
  return (int)(n / 2);
}

static void print_hex(const unsigned char *buf, ssize_t n) {
  for (ssize_t i = 0; i < n; i++) printf("%02x", buf[i]);
}

static int do_xchg(char **argv) {
  struct sockaddr_in to;
  unsigned char buf[9000];
  if (address(argv[0], argv[1], &to)) return 2;
  int len = unhex(argv[3], buf, sizeof buf);
  if (len < 0) { fprintf(stderr, "vnfprobe: bad hex payload\n"); return 2; }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&to, sizeof to) < 0) { perror("vnfprobe: sendto"); return 1; }
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, atoi(argv[2])) <= 0) { printf("no answer\n"); return 1; }
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0) { printf("%s\n", strerror(errno)); return 1; }
  print_hex(buf, n);
  printf("\n");
  return 0;
}

static int do_sendhex(char **argv) {
  struct sockaddr_in to;
  unsigned char buf[9000];
  if (address(argv[0], argv[1], &to)) return 2;
  int len = unhex(argv[3], buf, sizeof buf);
  if (len < 0) { fprintf(stderr, "vnfprobe: bad hex payload\n"); return 2; }
  int count = atoi(argv[2]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  for (int i = 0; i < count; i++) {
    if (sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&to, sizeof to) < 0) { perror("vnfprobe: sendto"); return 1; }
    usleep(50000);
  }
  printf("sent %d\n", count);
  return 0;
}

static int do_sinkhex(char **argv) {
  struct sockaddr_in me;
  if (address("0.0.0.0", argv[0], &me)) return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0) { perror("vnfprobe: bind"); return 1; }
  printf("listening %s\n", argv[0]);
  fflush(stdout);
  long end = now_ms() + atoi(argv[1]) * 1000L;
  int wanted = argv[2] ? atoi(argv[2]) : 0, got = 0;
  unsigned char buf[9000];
  for (long left; (left = end - now_ms()) > 0 && (wanted == 0 || got < wanted);) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)left) <= 0) continue;
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (n < 0) continue;
    printf("from %s ", inet_ntoa(from.sin_addr));
    print_hex(buf, n);
    printf("\n");
    fflush(stdout);
    got++;
  }
  return 0;
}

static unsigned short checksum(const unsigned char *data, size_t len) {
  unsigned long sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (unsigned long)(data[i] << 8 | data[i + 1]);
  if (len % 2) sum += (unsigned long)data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((unsigned short)~sum);
}

/* An ICMP datagram socket (Docker sets ping_group_range), else a raw one (NET_RAW). */
static int do_ping(char **argv) {
  struct sockaddr_in to;
  if (address(argv[0], "0", &to)) return 2;
  int size = atoi(argv[1]);
  if (size < 0 || size > 65000) { fprintf(stderr, "vnfprobe: bad size %s\n", argv[1]); return 2; }
  int raw = 0, fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  if (fd < 0) { fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP); raw = 1; }
  if (fd < 0) { printf("cannot open an ICMP socket: %s\n", strerror(errno)); return 1; }
  int pmtu = atoi(argv[2]) ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  size_t len = sizeof(struct icmphdr) + (size_t)size;
  unsigned char *packet = calloc(1, len), *answer = malloc(len + 128);
  struct icmphdr *icmp = (struct icmphdr *)packet;
  icmp->type = ICMP_ECHO;
  icmp->un.echo.id = htons((unsigned short)getpid());
  icmp->un.echo.sequence = htons(1);
  for (int i = 0; i < size; i++) packet[sizeof *icmp + i] = (unsigned char)i;
  icmp->checksum = checksum(packet, len);
  if (sendto(fd, packet, len, 0, (struct sockaddr *)&to, sizeof to) < 0) {
    if (errno == EMSGSIZE) {
      int mtu = 0;
      socklen_t ml = sizeof mtu;
      connect(fd, (struct sockaddr *)&to, sizeof to);
      getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &ml);
      printf("too big: %zu bytes with DF exceed the path MTU %d\n", len + 20, mtu);
    } else printf("send failed: %s\n", strerror(errno));
    return 1;
  }
  long end = now_ms() + atoi(argv[3]);
  for (long left; (left = end - now_ms()) > 0;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)left) <= 0) continue;
    ssize_t n = recv(fd, answer, len + 128, 0);
    if (n < 0) continue;
    unsigned char *reply = answer;
    if (raw) { size_t ihl = (size_t)(answer[0] & 0x0f) * 4; reply += ihl; n -= (ssize_t)ihl; }
    struct icmphdr *r = (struct icmphdr *)reply;
    if (n >= (ssize_t)sizeof *r && r->type == ICMP_ECHOREPLY) {
      printf("reply %zd bytes\n", n - (ssize_t)sizeof *r);
      return 0;
    }
  }
  printf("no reply\n");
  return 1;
}

static int do_sctp(char **argv) {
  struct sockaddr_in to;
  if (address(argv[0], argv[1], &to)) return 2;
  int fd = socket(AF_INET, SOCK_STREAM, 132 /* IPPROTO_SCTP */);
  if (fd < 0) {
    if (errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT)
      printf("sctp unsupported: this kernel has no SCTP (%s)\n", strerror(errno));
    else printf("sctp socket: %s\n", strerror(errno));
    return 1;
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS) { printf("%s\n", strerror(errno)); return 1; }
  struct pollfd p = {fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (poll(&p, 1, atoi(argv[2])) <= 0) { printf("timed out\n"); return 1; }
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) { printf("%s\n", strerror(err)); return 1; }
  printf("associated\n");
  return 0;
}

/* blast/count datagrams: "VNFT", run id, sequence number, send time (CLOCK_MONOTONIC ns; containers share it). */
struct stamp { char magic[4]; uint32_t run; uint64_t seq; uint64_t sent_ns; };

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define BATCH 64

static int do_blast(char **argv) {
  struct sockaddr_in to;
  if (address(argv[0], argv[1], &to)) return 2;
  double pps = atof(argv[2]);
  long millis = atol(argv[3]);
  int size = atoi(argv[4]);
  uint32_t run = (uint32_t)strtoul(argv[5], NULL, 10);
  if (pps <= 0 || millis <= 0 || size < (int)sizeof(struct stamp) || size > 8972) {
    fprintf(stderr, "vnfprobe: blast needs PPS > 0, MILLIS > 0 and %zu <= SIZE <= 8972\n", sizeof(struct stamp));
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("vnfprobe: connect"); return 1; }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  static unsigned char bufs[BATCH][8972];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    memset(bufs[i], 0x5a, (size_t)size);
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = (size_t)size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  /* Batches small enough that pacing stays within about a millisecond of the target rate. */
  int batch = (int)(pps / 1000.0);
  if (batch < 1) batch = 1;
  if (batch > BATCH) batch = BATCH;
  uint64_t start = now_ns(), total = (uint64_t)(pps * (double)millis / 1000.0), seq = 0, failed = 0;
  /* A sender that falls behind stops at a quarter past the duration: what it did not send is reported as
   * unsent (the rate was not offered), not queued into a longer, slower trial. */
  uint64_t give_up = start + (uint64_t)millis * 1250000ull + 200000000ull;
  while (seq < total && now_ns() < give_up) {
    uint64_t due = start + (uint64_t)((double)seq * 1e9 / pps), t = now_ns();
    if (due > t) {
      struct timespec ts = {(time_t)((due - t) / 1000000000ull), (long)((due - t) % 1000000000ull)};
      nanosleep(&ts, NULL);
    }
    int n = (int)((total - seq) < (uint64_t)batch ? (total - seq) : (uint64_t)batch);
    uint64_t stamp_ns = now_ns();
    for (int i = 0; i < n; i++) {
      struct stamp s = {{'V', 'N', 'F', 'T'}, run, seq + (uint64_t)i, stamp_ns};
      memcpy(bufs[i], &s, sizeof s);
    }
    int sent = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (sent < n) failed += (uint64_t)(n - (sent < 0 ? 0 : sent));
    seq += (uint64_t)n;
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  printf("sent %llu failed %llu unsent %llu seconds %.3f\n", (unsigned long long)(seq - failed), (unsigned long long)failed,
         (unsigned long long)(total - seq), elapsed);
  return 0;
}

static int by_value(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int do_count(char **argv) {
  struct sockaddr_in me;
  if (address("0.0.0.0", argv[0], &me)) return 2;
  long max_ms = atol(argv[1]) * 1000L, idle_ms = atol(argv[2]);
  uint32_t run = (uint32_t)strtoul(argv[3], NULL, 10);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int rcvbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0) { perror("vnfprobe: bind"); return 1; }
  printf("listening %s\n", argv[0]);
  fflush(stdout);
  size_t cap = 1u << 20, used = 0;
  uint32_t *latency_us = malloc(cap * sizeof *latency_us);
  static unsigned char bufs[BATCH][9000];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = sizeof bufs[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t received = 0, reordered = 0, foreign = 0, next = 0, max_seq = 0;
  long end = now_ms() + max_ms, last = 0;
  for (;;) {
    long t = now_ms(), wait = end - t;
    if (last && idle_ms - (t - last) < wait) wait = idle_ms - (t - last);
    if (wait <= 0) break;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)wait) <= 0) continue;
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) continue;
    uint64_t arrived = now_ns();
    last = now_ms();
    for (int i = 0; i < n; i++) {
      struct stamp s;
      if (msgs[i].msg_len < sizeof s) { foreign++; continue; }
      memcpy(&s, bufs[i], sizeof s);
      if (memcmp(s.magic, "VNFT", 4) != 0 || s.run != run) { foreign++; continue; }
      received++;
      if (s.seq < next) reordered++;
      else next = s.seq + 1;
      if (s.seq > max_seq) max_seq = s.seq;
      if (used == cap) { cap *= 2; latency_us = realloc(latency_us, cap * sizeof *latency_us); }
      latency_us[used++] = arrived > s.sent_ns ? (uint32_t)((arrived - s.sent_ns) / 1000u) : 0;
    }
  }
  qsort(latency_us, used, sizeof *latency_us, by_value);
#define PCT(p) (used ? latency_us[(size_t)((double)(used - 1) * (p))] : 0)
  printf("{\"received\":%llu,\"reordered\":%llu,\"foreign\":%llu,\"maxSeq\":%llu,\"p50Us\":%u,\"p99Us\":%u,\"maxUs\":%u}\n",
         (unsigned long long)received, (unsigned long long)reordered, (unsigned long long)foreign,
         (unsigned long long)max_seq, PCT(0.5), PCT(0.99), used ? latency_us[used - 1] : 0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "ifaces") == 0) return do_ifaces();
  if (argc == 6 && strcmp(argv[1], "send") == 0) return do_send(argv + 2);
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "sink") == 0) return do_sink(argv + 2);
  if (argc == 6 && strcmp(argv[1], "udp") == 0) return do_udp(argv + 2);
  if (argc == 5 && strcmp(argv[1], "tcp") == 0) return do_tcp(argv + 2);
  if (argc == 6 && strcmp(argv[1], "xchg") == 0) return do_xchg(argv + 2);
  if (argc == 6 && strcmp(argv[1], "sendhex") == 0) return do_sendhex(argv + 2);
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "sinkhex") == 0) return do_sinkhex(argv + 2);
  if (argc == 6 && strcmp(argv[1], "ping") == 0) return do_ping(argv + 2);
  if (argc == 5 && strcmp(argv[1], "sctp") == 0) return do_sctp(argv + 2);
  if (argc == 8 && strcmp(argv[1], "blast") == 0) return do_blast(argv + 2);
  if (argc == 6 && strcmp(argv[1], "count") == 0) return do_count(argv + 2);
  fprintf(stderr, "usage: vnfprobe send ADDR PORT COUNT PAYLOAD | sink PORT SECONDS [COUNT] | udp ADDR PORT MILLIS PAYLOAD | tcp ADDR PORT MILLIS | ifaces | xchg ADDR PORT MILLIS HEX | sendhex ADDR PORT COUNT HEX | sinkhex PORT SECONDS [COUNT] | ping ADDR SIZE DF MILLIS | sctp ADDR PORT MILLIS | blast ADDR PORT PPS MILLIS SIZE RUN | count PORT SECONDS IDLEMS RUN\n");
  return 2;
}
