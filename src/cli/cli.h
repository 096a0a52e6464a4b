/* The dlgn command line: one function per subcommand, each returning the
 * process exit status. Errors are printed once, by the command, as
 * "dlgn: <message>". */
#ifndef DLGN_CLI_H
#define DLGN_CLI_H

int cmd_devices(int argc, char **argv);

/* Print "dlgn: " + dlgn_error() to stderr; returns 1. */
int cli_report_error(void);

#endif
