#!/usr/bin/env bash
# stack-log.sh STACK_DIR COMMAND ARGS...: runs one test of a shared test stack. When the test
# fails, prints what the stack's services logged as warnings or errors while it ran (and any
# service that exited), so a CI log shows the services' side of the failure next to the test's.
# Exits with the test's status.
dir=$1
shift
log=$dir/stack.log
start=0
[ -f "$log" ] && start=$(wc -l <"$log")
"$@"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -f "$log" ]; then
  echo "---- $log: warnings and errors of the services while this test ran ----"
  tail -n +"$((start + 1))" "$log" | grep -E " (warn|error) |exited with|Killed" | tail -n 80
  echo "---- end of $log ----"
fi
exit "$rc"
