#!/usr/bin/env bash
# Several instances on one Redis, behind nginx, on this machine:
#
#   cargo build --release -p sse-cli && sse-cli/examples/cluster/run.sh
#
# starts a Redis (port 6390), three `sse serve --redis` instances (8081-8083)
# each publishing a tick every second, and nginx on http://127.0.0.1:8080/
# balancing them round robin. Open that page, kill the instance it is
# connected to (the pids are printed), and watch the ids stay consecutive.
# Ctrl-C stops everything. Needs redis-server and nginx (Debian's packages).
source "$(dirname "$0")/cluster.sh"

start_redis
for port in 8081 8082 8083; do
    (while sleep 1; do printf '{"data":"tick %s from instance %s"}\n' "$(date +%T)" "$port"; done) |
        "$sse" serve --addr "127.0.0.1:$port" --redis redis://127.0.0.1:6390/ 2>"$dir/$port.log" &
    echo "instance 127.0.0.1:$port: pid $!"
done
start_nginx 8081 8082 8083
echo "open http://127.0.0.1:8080/ (Ctrl-C to stop)"
wait
