/* Subcommands: each parses its own flags and calls the library. */
#ifndef AT_CLI_COMMANDS_H
#define AT_CLI_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_hook(int argc, char **argv);

#endif
