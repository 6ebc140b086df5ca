#!/usr/bin/env bash
# Three `sse hub` instances on one Redis, behind nginx, on this machine:
#
#   cargo build --release -p sse-cli && sse-cli/examples/cluster/hub.sh
#
# starts a Redis (port 6390), three `sse hub --redis` instances (8081-8083)
# and nginx on http://127.0.0.1:8080/ balancing them round robin (the same
# nginx.conf as run.sh). Open that page and subscribe to `*`, then publish to
# any instance, for example through nginx:
#
#   curl -d topic=https://example.com/books/1 -d data=hello \
#        -H "Authorization: Bearer $PUBLISHER_JWT" http://127.0.0.1:8080/.well-known/mercure
#
# ($PUBLISHER_JWT is printed below: HS256 with the key in MERCURE_PUBLISHER_JWT_KEY,
# claims {"mercure":{"publish":["*"]}}). Kill the instance the page is on (the
# pids are printed): the page resumes on another with what it missed.
# Ctrl-C stops everything. Needs redis-server, nginx and python3.
source "$(dirname "$0")/cluster.sh"
export MERCURE_PUBLISHER_JWT_KEY=${MERCURE_PUBLISHER_JWT_KEY:-'!ChangeThisMercureHubJWTSecretKey!'}

start_redis
for port in 8081 8082 8083; do
    "$sse" hub --addr "127.0.0.1:$port" --hub-url http://127.0.0.1:8080/.well-known/mercure \
        --redis redis://127.0.0.1:6390/ --anonymous --subscriptions 2>"$dir/$port.log" &
    echo "instance 127.0.0.1:$port: pid $!"
done
start_nginx 8081 8082 8083
PUBLISHER_JWT=$(python3 -c '
import base64, hashlib, hmac, json, os
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
head = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b(json.dumps({"mercure": {"publish": ["*"]}}).encode())
key = os.environ["MERCURE_PUBLISHER_JWT_KEY"].encode()
print(head + "." + body + "." + b(hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest()))')
echo "PUBLISHER_JWT=$PUBLISHER_JWT"
echo "open http://127.0.0.1:8080/ (Ctrl-C to stop)"
wait
