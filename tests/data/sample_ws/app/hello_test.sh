#!/bin/sh
out=$(app/hello)
case "$out" in
  *"hello, world"*) echo "PASS: $out" ;;
  *) echo "FAIL: $out"; exit 1 ;;
esac
