#!/usr/bin/env bash
# Alternated series: 44d1019, main (95124d6), this branch, node; room10 + rooms50 each.
cd /work/wt/relay25
N=${N:-6}
for i in $(seq 1 $N); do
  for tree in base44 main after node; do
    case $tree in
      base44) extra="--root /tmp/base-44d1019";;
      main)   extra="--root /tmp/relay25-base";;
      after)  extra="";;
      node)   extra="--server node";;
    esac
    echo "$i $tree $(date -u +%H:%M:%S) $(uptime)" >> /tmp/r25series/log.txt
    .venv/bin/python -m bench.bench_relay --scenario room10,rooms50 --duration 10 --wait-quiet 30 $extra --json > /tmp/r25series/$i-$tree.json 2>/tmp/r25series/$i-$tree.err
  done
done
echo done >> /tmp/r25series/log.txt
