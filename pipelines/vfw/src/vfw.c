/*
 * vfw: a tiny UDP packet filter, the example VNF of vnfpipe.
 *
 * It reads datagrams on one port and applies rules from a file, first match wins:
 *   drop <prefix>             discard datagrams whose payload starts with <prefix>
 *   reply <prefix> <answer>   answer the sender with <answer> (health/probe traffic)
 *   forward <ipv4> <port>     send every other datagram on to that address (the data plane)
 * Without a forward rule, other datagrams are echoed back. SIGTERM stops it cleanly (exit 0).
 *
 * Telco options (rules too):
 *   data <ipv4>               only datagrams addressed to this (data-plane) address are forwarded; the
 *                             others (management) get reply rules or are dropped. Without it, every
 *                             datagram is forwarded, whatever interface it came in on.
 *   gtpu-allow <teid>         listen for GTP-U (TS 29.281) on UDP 2152: G-PDUs with an allowed TEID
 *                             (repeatable; decimal or 0x hex; `any` allows all) are forwarded unchanged,
 *                             others dropped; echo requests are answered
 *   gtpu-forward <ipv4> [port]  where allowed G-PDUs go (default port 2152)
 *   pfcp <port>               answer PFCP (TS 29.244) heartbeat and association setup requests on that
 *                             port, on management addresses only
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 64
#define MAX_TEXT 128
#define MAX_TEIDS 64
#define GTPU_PORT 2152

enum action { DROP, REPLY };
struct rule { enum action action; char prefix[MAX_TEXT]; char answer[MAX_TEXT]; };

static struct rule rules[MAX_RULES];
static int rule_count;
static struct sockaddr_in forward_to, gtpu_to;
static int forwarding, gtpu_enabled, gtpu_any, pfcp_port;
static struct in_addr data_addr;
static int data_only;
static uint32_t teids[MAX_TEIDS];
static int teid_count;
static uint32_t recovery_ntp; /* start time, seconds since 1900: PFCP Recovery Time Stamp */
static volatile sig_atomic_t stopping;

static void on_term(int sig) { (void)sig; stopping = 1; }

static int parse_ipv4(const char *text, const char *port, struct sockaddr_in *out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((unsigned short)atoi(port));
  return inet_pton(AF_INET, text, &out->sin_addr) == 1 ? 0 : -1;
}

static int load_rules(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) { fprintf(stderr, "vfw: cannot open rules %s: %s\n", path, strerror(errno)); return -1; }
  char line[512];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char verb[16], a[MAX_TEXT], b[MAX_TEXT];
    int n = sscanf(line, "%15s %127s %127s", verb, a, b), bad = 0;
    if (n <= 0 || verb[0] == '#') continue;
    if (rule_count == MAX_RULES) { fprintf(stderr, "vfw: %s:%d: too many rules\n", path, lineno); fclose(f); return -1; }
    if (strcmp(verb, "drop") == 0 && n >= 2) {
      rules[rule_count].action = DROP;
      snprintf(rules[rule_count++].prefix, MAX_TEXT, "%s", a);
    } else if (strcmp(verb, "reply") == 0 && n == 3) {
      rules[rule_count].action = REPLY;
      snprintf(rules[rule_count].prefix, MAX_TEXT, "%s", a);
      snprintf(rules[rule_count++].answer, MAX_TEXT, "%s", b);
    } else if (strcmp(verb, "forward") == 0 && n == 3) {
      bad = parse_ipv4(a, b, &forward_to);
      forwarding = 1;
    } else if (strcmp(verb, "data") == 0 && n == 2) {
      bad = inet_pton(AF_INET, a, &data_addr) != 1;
      data_only = 1;
    } else if (strcmp(verb, "gtpu-allow") == 0 && n == 2 && teid_count < MAX_TEIDS) {
      if (strcmp(a, "any") == 0) gtpu_any = 1;
      else teids[teid_count++] = (uint32_t)strtoul(a, NULL, 0);
      gtpu_enabled = 1;
    } else if (strcmp(verb, "gtpu-forward") == 0 && n >= 2) {
      bad = parse_ipv4(a, n == 3 ? b : "2152", &gtpu_to);
    } else if (strcmp(verb, "pfcp") == 0 && n == 2) {
      pfcp_port = atoi(a);
      bad = pfcp_port <= 0 || pfcp_port > 65535;
    } else {
      bad = 1;
    }
    if (bad) { fprintf(stderr, "vfw: %s:%d: cannot parse rule: %s", path, lineno, line); fclose(f); return -1; }
  }
  fclose(f);
  if (gtpu_enabled && !gtpu_to.sin_family) { fprintf(stderr, "vfw: %s: gtpu-allow needs gtpu-forward\n", path); return -1; }
  return 0;
}

/* A UDP socket that reports each datagram's destination address (IP_PKTINFO): data or management. */
static int listen_udp(const char *bind_addr, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0), on = 1;
  struct sockaddr_in addr;
  if (fd < 0 || parse_ipv4(bind_addr, "0", &addr) != 0) return -1;
  addr.sin_port = htons((unsigned short)port);
  setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  /* Room for bursts while vfw is not scheduled (up to the host's net.core.rmem_max). */
  int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    fprintf(stderr, "vfw: cannot listen on %s:%d: %s\n", bind_addr, port, strerror(errno));
    return -1;
  }
  return fd;
}

struct datagram {
  unsigned char buf[2048];
  ssize_t len;
  struct sockaddr_in from;
  struct in_addr to;
};

/* Receives one datagram without blocking; 0 when none is waiting. */
static int receive(int fd, struct datagram *d) {
  char control[64];
  struct iovec iov = {d->buf, sizeof d->buf};
  struct msghdr msg = {&d->from, sizeof d->from, &iov, 1, control, sizeof control, 0};
  d->len = recvmsg(fd, &msg, MSG_DONTWAIT);
  if (d->len < 0) return 0;
  d->to.s_addr = INADDR_ANY;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
      d->to = ((struct in_pktinfo *)CMSG_DATA(c))->ipi_addr;
  return 1;
}

static int on_data_plane(const struct datagram *d) { return !data_only || d->to.s_addr == data_addr.s_addr; }

static unsigned long passed, dropped;

static void filter(int fd, struct datagram *d) {
  const struct rule *hit = NULL;
  for (int i = 0; i < rule_count && !hit; i++)
    if ((size_t)d->len >= strlen(rules[i].prefix) && memcmp(d->buf, rules[i].prefix, strlen(rules[i].prefix)) == 0) hit = &rules[i];
  if (hit && hit->action == DROP) { dropped++; return; }
  if (hit && hit->action == REPLY) {
    sendto(fd, hit->answer, strlen(hit->answer), 0, (struct sockaddr *)&d->from, sizeof d->from);
  } else if (!on_data_plane(d)) {
    dropped++; /* management traffic never enters the data plane */
  } else if (forwarding) {
    sendto(fd, d->buf, (size_t)d->len, 0, (struct sockaddr *)&forward_to, sizeof forward_to);
    passed++;
  } else {
    sendto(fd, d->buf, (size_t)d->len, 0, (struct sockaddr *)&d->from, sizeof d->from);
    passed++;
  }
}

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int teid_allowed(uint32_t teid) {
  for (int i = 0; i < teid_count; i++)
    if (teids[i] == teid) return 1;
  return gtpu_any;
}

/* GTPv1-U: version 1, PT 1; type 1 echo request, 2 echo response, 255 G-PDU (TS 29.281 §5.1, §7). */
static void gtpu(int fd, struct datagram *d) {
  const unsigned char *b = d->buf;
  if (d->len < 8 || (b[0] >> 5) != 1 || !(b[0] & 0x10)) { dropped++; return; }
  if (b[1] == 1 && (b[0] & 0x02) && d->len >= 12) {
    /* Echo response: same sequence number, Recovery IE (type 14, restart counter 0). */
    unsigned char r[14] = {0x32, 2, 0, 6, 0, 0, 0, 0, b[8], b[9], 0, 0, 14, 0};
    sendto(fd, r, sizeof r, 0, (struct sockaddr *)&d->from, sizeof d->from);
  } else if (b[1] == 255 && on_data_plane(d) && teid_allowed(be32(b + 4))) {
    sendto(fd, d->buf, (size_t)d->len, 0, (struct sockaddr *)&gtpu_to, sizeof gtpu_to);
    passed++;
  } else {
    dropped++;
  }
}

static unsigned char *put_ie(unsigned char *p, unsigned type, const void *value, unsigned len) {
  p[0] = (unsigned char)(type >> 8); p[1] = (unsigned char)type;
  p[2] = (unsigned char)(len >> 8); p[3] = (unsigned char)len;
  memcpy(p + 4, value, len);
  return p + 4 + len;
}

/* PFCP node messages (no SEID): heartbeat 1→2, association setup 5→6 (TS 29.244 §7.2.2, §7.4). */
static void pfcp(int fd, struct datagram *d) {
  const unsigned char *b = d->buf;
  if (on_data_plane(d) && data_only) { dropped++; return; }
  if (d->len < 8 || (b[0] >> 5) != 1 || (b[0] & 0x01) || (b[1] != 1 && b[1] != 5)) { dropped++; return; }
  unsigned char r[64], *p = r + 8;
  unsigned char stamp[4] = {(unsigned char)(recovery_ntp >> 24), (unsigned char)(recovery_ntp >> 16), (unsigned char)(recovery_ntp >> 8), (unsigned char)recovery_ntp};
  if (b[1] == 5) {
    unsigned char node[5] = {0}; /* Node ID: type 0 (IPv4), the address the request came to */
    memcpy(node + 1, &d->to.s_addr, 4);
    unsigned char accepted = 1;
    p = put_ie(p, 60, node, sizeof node);
    p = put_ie(p, 19, &accepted, 1);
  }
  p = put_ie(p, 96, stamp, sizeof stamp);
  unsigned len = (unsigned)(p - r) - 4;
  r[0] = 0x20; r[1] = (unsigned char)(b[1] + 1);
  r[2] = (unsigned char)(len >> 8); r[3] = (unsigned char)len;
  memcpy(r + 4, b + 4, 3); /* the request's sequence number */
  r[7] = 0;
  sendto(fd, r, (size_t)(p - r), 0, (struct sockaddr *)&d->from, sizeof d->from);
}

int main(int argc, char **argv) {
  const char *rules_path = "/etc/vfw/rules.conf";
  const char *bind_addr = "0.0.0.0";
  int port = 5000, opt;
  while ((opt = getopt(argc, argv, "c:p:b:")) != -1) {
    if (opt == 'c') rules_path = optarg;
    else if (opt == 'p') port = atoi(optarg);
    else if (opt == 'b') bind_addr = optarg;
    else { fprintf(stderr, "usage: vfw [-c rules] [-p port] [-b addr]\n"); return 2; }
  }
  if (load_rules(rules_path) != 0) return 2;
  recovery_ntp = (uint32_t)(time(NULL) + 2208988800u);

  struct sigaction sa = {0};
  sa.sa_handler = on_term; /* no SA_RESTART: poll returns EINTR so the loop can stop */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  struct pollfd fds[3];
  int count = 0;
  fds[count++] = (struct pollfd){listen_udp(bind_addr, port), POLLIN, 0};
  if (gtpu_enabled) fds[count++] = (struct pollfd){listen_udp(bind_addr, GTPU_PORT), POLLIN, 0};
  int gtpu_fd = gtpu_enabled ? fds[1].fd : -1;
  if (pfcp_port) fds[count++] = (struct pollfd){listen_udp(bind_addr, pfcp_port), POLLIN, 0};
  int pfcp_fd = pfcp_port ? fds[count - 1].fd : -1;
  for (int i = 0; i < count; i++)
    if (fds[i].fd < 0) return 1;
  printf("vfw: listening on %s:%d with %d rules%s%s%s\n", bind_addr, port, rule_count, forwarding ? ", forwarding" : "",
         gtpu_enabled ? ", GTP-U on 2152" : "", pfcp_port ? ", PFCP" : "");
  fflush(stdout);

  static struct datagram d;
  while (!stopping) {
    if (poll(fds, (nfds_t)count, -1) < 0) {
      if (errno == EINTR) continue;
      perror("vfw: poll");
      return 1;
    }
    for (int i = 0; i < count; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      while (receive(fds[i].fd, &d)) {
        if (fds[i].fd == gtpu_fd) gtpu(fds[i].fd, &d);
        else if (fds[i].fd == pfcp_fd) pfcp(fds[i].fd, &d);
        else filter(fds[i].fd, &d);
      }
    }
  }
  printf("vfw: stopping: %lu passed, %lu dropped\n", passed, dropped);
  return 0;
}
