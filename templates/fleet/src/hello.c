/*
 * hello-vnf: the smallest network function that behaves like one. It says it is ready on stdout, waits
 * for SIGTERM and exits 0 then. `hello --check` is its health check: it prints "ok" and exits 0.
 * Built static, so the image needs nothing but this file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--check") == 0) {
    puts("ok");
    return 0;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("hello-vnf: ready\n");
  fflush(stdout);
  while (!stopping) pause();
  printf("hello-vnf: stopping\n");
  return 0;
}
