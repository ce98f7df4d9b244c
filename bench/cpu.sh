#!/usr/bin/env bash
# Prints the summed utime+stime (seconds) of the given PIDs and their threads, from /proc.
tck=$(getconf CLK_TCK)
total=0
for p in "$@"; do
  [ -r /proc/$p/stat ] || continue
  t=$(awk '{print $14+$15}' /proc/$p/stat)
  total=$((total + t))
done
awk -v t=$total -v h=$tck 'BEGIN{printf "%.3f\n", t/h}'
