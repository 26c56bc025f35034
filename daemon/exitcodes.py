"""Process exit codes (sysexits.h where one fits), documented in the README."""

OK = 0
DAYS_FAILED = 1  # ran to the end, but some symbol-days failed (see failed_days)
USAGE = 2  # bad command line, malformed symbol, a range without trading days
CANTCREAT = 73  # the store path cannot be created or written
TEMPFAIL = 75  # store unreachable or locked by another instance: retry later
NOPERM = 77  # authentication or permission refused: do not restart in a loop
CONFIG = 78  # the config file is invalid
INTERRUPTED = 130  # stopped by SIGINT/SIGTERM before the plan was done; rerun finishes it
