#!/usr/bin/env bash
# stack-log.sh STACK_DIR COMMAND ARGS...: runs one test of a shared test stack. When the test
# fails, prints what the services logged as warnings or errors while it ran (and any service
# that exited): from the shared stack's log, and from the logs of stacks of their own that the
# test started (STACK_DIR-<suffix>/stack.log, tests/integration/testutil.c tu_own_stack). So a
# CI log shows the services' side of a failure next to the test's. Exits with the test's status.
dir=$1
shift
log=$dir/stack.log
start=0
[ -f "$log" ] && start=$(wc -l <"$log")
mark=$(mktemp)
"$@"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
  for f in "$log" "$dir"-*/stack.log; do
    [ -f "$f" ] || continue
    if [ "$f" = "$log" ]; then
      from=$((start + 1))
    elif [ "$f" -nt "$mark" ]; then
      from=1
    else
      continue
    fi
    echo "---- $f: warnings and errors of the services while this test ran ----"
    tail -n +"$from" "$f" | grep -E " (warn|error) |exited with|Killed" | tail -n 80
  done
  echo "---- end of the stacks' logs ----"
fi
rm -f "$mark"
exit "$rc"
