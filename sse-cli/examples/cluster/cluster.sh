# What run.sh and hub.sh share, sourced by both: the sse binary, a
# temporary folder removed at exit with every process started, a Redis on
# port 6390 (no persistence) and nginx on http://127.0.0.1:8080/ in front
# of the instances given.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sse=${SSE:-$here/../../../target/release/sse}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

start_redis() {
    redis-server --bind 127.0.0.1 --port 6390 --save '' --appendonly no --dir "$dir" >"$dir/redis.log" &
    sleep 0.5
}

# start_nginx PORT...: nginx balancing the instances on these ports round
# robin (nginx.conf).
start_nginx() {
    local upstreams=""
    for port in "$@"; do
        upstreams="$upstreams server 127.0.0.1:$port max_fails=1 fail_timeout=10s;"
    done
    : >"$dir/extra.conf"
    sed -e "s|{dir}|$dir|g" -e "s|{port}|8080|g" -e "s|{upstreams}|$upstreams|g" \
        "$here/nginx.conf" >"$dir/nginx.conf"
    "$nginx" -c "$dir/nginx.conf" -p "$dir" &
}
