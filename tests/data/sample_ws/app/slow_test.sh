#!/bin/sh
for i in 1 2 3 4; do echo "slow step $i"; sleep 1; done
echo "PASS: slow"
