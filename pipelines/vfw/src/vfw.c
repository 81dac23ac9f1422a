/*
 * vfw: a tiny UDP packet filter, the example VNF of vnfpipe.
 *
 * It reads datagrams on one port and applies rules from a file, first match wins:
 *   drop <prefix>             discard datagrams whose payload starts with <prefix>
 *   reply <prefix> <answer>   answer the sender with <answer> (health/probe traffic)
 *   forward <ipv4> <port>     send every other datagram on to that address (the data plane)
 * Without a forward rule, other datagrams are echoed back. SIGTERM stops it cleanly (exit 0).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RULES 64
#define MAX_TEXT 128

enum action { DROP, REPLY };
struct rule { enum action action; char prefix[MAX_TEXT]; char answer[MAX_TEXT]; };

static struct rule rules[MAX_RULES];
static int rule_count;
static struct sockaddr_in forward_to;
static int forwarding;
static volatile sig_atomic_t stopping;

static void on_term(int sig) { (void)sig; stopping = 1; }

static int load_rules(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) { fprintf(stderr, "vfw: cannot open rules %s: %s\n", path, strerror(errno)); return -1; }
  char line[512];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char verb[16], a[MAX_TEXT], b[MAX_TEXT];
    int n = sscanf(line, "%15s %127s %127s", verb, a, b);
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
      forward_to.sin_family = AF_INET;
      forward_to.sin_port = htons((unsigned short)atoi(b));
      if (inet_pton(AF_INET, a, &forward_to.sin_addr) != 1) {
        fprintf(stderr, "vfw: %s:%d: bad address %s\n", path, lineno, a); fclose(f); return -1;
      }
      forwarding = 1;
    } else {
      fprintf(stderr, "vfw: %s:%d: cannot parse rule: %s", path, lineno, line); fclose(f); return -1;
    }
  }
  fclose(f);
  return 0;
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

  struct sigaction sa = {0};
  sa.sa_handler = on_term; /* no SA_RESTART: recvfrom returns EINTR so the loop can stop */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (fd < 0 || inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    fprintf(stderr, "vfw: cannot listen on %s:%d: %s\n", bind_addr, port, strerror(errno));
    return 1;
  }
  printf("vfw: listening on %s:%d with %d rules%s\n", bind_addr, port, rule_count, forwarding ? ", forwarding" : "");
  fflush(stdout);

  unsigned long passed = 0, dropped = 0;
  char buf[2048];
  while (!stopping) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (n < 0) { if (errno == EINTR) continue; perror("vfw: recvfrom"); return 1; }
    const struct rule *hit = NULL;
    for (int i = 0; i < rule_count && !hit; i++)
      if ((size_t)n >= strlen(rules[i].prefix) && memcmp(buf, rules[i].prefix, strlen(rules[i].prefix)) == 0) hit = &rules[i];
    if (hit && hit->action == DROP) { dropped++; continue; }
    if (hit && hit->action == REPLY) {
      sendto(fd, hit->answer, strlen(hit->answer), 0, (struct sockaddr *)&from, len);
    } else if (forwarding) {
      sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&forward_to, sizeof forward_to);
      passed++;
    } else {
      sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
      passed++;
    }
  }
  printf("vfw: stopping: %lu passed, %lu dropped\n", passed, dropped);
  return 0;
}
