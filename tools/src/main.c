/* `weightless`: the command-line tool of the Weightless registry. main() only dispatches to
 * one command (commands.c, create.c) and prints the global help; every command parses its own
 * options and returns the process exit code (cli.h, docs/cli.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
};

static const struct command commands[] = {
    {"create", wl_cmd_create, "hash a file or directory into a v1, v2 or hybrid .torrent"},
    {"publish", wl_cmd_publish, "upload a .torrent to the registry, print entry and magnet"},
    {"search", wl_cmd_search, "search the registry"},
    {"info", wl_cmd_info, "show an entry and its file tree"},
    {"magnet", wl_cmd_magnet, "print the magnet link of an entry"},
    {"get", wl_cmd_get, "download the .torrent of an entry"},
    {"block", wl_cmd_block, "admin: delete an entry and block its hashes"},
    {"unblock", wl_cmd_unblock, "admin: lift a block"},
    {"verify", wl_cmd_verify, "admin: mark an entry verified (or --revoke)"},
    {"passkey", wl_cmd_passkey, "print a user's tracker passkey (from TRACKER_SECRET)"},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: weightless COMMAND [options] [args]   (weightless COMMAND --help for more)\n"
          "\n"
          "Create, publish and find torrents of model weights and datasets on a Weightless\n"
          "tracker and registry.\n"
          "\n"
          "Commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\n"
          "Environment:\n"
          "  WEIGHTLESS_SERVER  registry server URL (default " WL_CLI_DEFAULT_SERVER ")\n"
          "  WEIGHTLESS_KEY     registry key for publish, block, unblock, verify\n"
          "  TRACKER_SECRET     the tracker's secret, for passkey\n"
          "\n"
          "Exit codes:\n"
          "  0 success                   1 usage error\n"
          "  2 server unreachable        3 HTTP error from the server (its message is printed)\n"
          "  4 local file or I/O error   5 invalid data (bad .torrent, odd answer)\n"
          "  6 internal error (out of memory)\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return WL_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
    usage(stdout);
    return WL_EXIT_OK;
  }
  if (strcmp(cmd, "help") == 0) {
    if (argc < 3) {
      usage(stdout);
      return WL_EXIT_OK;
    }
    cmd = argv[2];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
      if (strcmp(commands[i].name, cmd) == 0) {
        char *hargv[] = {argv[2], "--help", NULL};
        return commands[i].run(2, hargv);
      }
    }
  } else if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("weightless %s\n", WL_CLI_VERSION);
    return WL_EXIT_OK;
  } else {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
      if (strcmp(commands[i].name, cmd) == 0) return commands[i].run(argc - 1, argv + 1);
  }
  wl_cli_err("unknown command '%s' (weightless --help lists them)", cmd);
  return WL_EXIT_USAGE;
}
