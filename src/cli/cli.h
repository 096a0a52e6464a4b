/* The dlgn command line: one function per subcommand, each returning the
 * process exit status. Errors are printed once, by the command, as
 * "dlgn: <message>". */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>

#include "dlgn/train.h"

int cmd_devices(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

/* Print "dlgn: " + dlgn_error() to stderr; returns 1. */
int cli_report_error(void);

#endif
