#!/usr/bin/env bash
# Starts a local Unleash (unleash-server from npm, pinned by
# flag/testdata/unleash/package-lock.json, on a throwaway PostgreSQL
# cluster), creates the demo's two canary flags, and runs `driftwatch demo
# --unleash`: driftwatch ramps the equal canary (fraud-screen) 5 → 25 → 50
# → 100% and sets the worse one (credit-limit) to 0% when it is rolled
# back. Everything listens on 127.0.0.1 and is removed on exit.
#
#   sh examples/unleash/run.sh            # from the repository root
#   DURATION=120s UNLEASH_PORT=4243 sh examples/unleash/run.sh
#
# Needs Node (20 or later), npm and PostgreSQL (Debian: apt-get install
# postgresql nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
pkg=$root/flag/testdata/unleash
port=${UNLEASH_PORT:-4242}
pgport=${PGPORT:-54329}
duration=${DURATION:-90s}
export UNLEASH_ADMIN_TOKEN='*:*.driftwatch-example-admin-token'
client_token='default:development.driftwatch-example-client-token'

pgbin=$(dirname "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)")
[ -f "$pkg/node_modules/unleash-server/package.json" ] || (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error)

tmp=$(mktemp -d /tmp/driftwatch-unleash-XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then # PostgreSQL will not run as root
	chown postgres: "$tmp"
	as_pg=(runuser -u postgres --)
fi
node_pid=
cleanup() {
	[ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
	"${as_pg[@]}" "$pgbin/pg_ctl" stop -m fast -D "$tmp/data" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== PostgreSQL on 127.0.0.1:$pgport ($tmp)"
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" start -w -D "$tmp/data" -l "$tmp/log" \
	-o "-p $pgport -k $tmp -c listen_addresses=127.0.0.1" >/dev/null
psql -h 127.0.0.1 -p "$pgport" -U postgres -q -v ON_ERROR_STOP=1 \
	-c "CREATE USER unleash PASSWORD 'unleash'" -c "CREATE DATABASE unleash OWNER unleash"

echo "== Unleash on http://127.0.0.1:$port (first start runs its migrations)"
(cd "$pkg" && UNLEASH_PG_PORT=$pgport UNLEASH_PG_USER=unleash UNLEASH_PG_PASSWORD=unleash UNLEASH_PG_DATABASE=unleash \
	UNLEASH_PORT=$port UNLEASH_ADMIN_TOKEN=$UNLEASH_ADMIN_TOKEN UNLEASH_CLIENT_TOKEN=$client_token \
	CHECK_VERSION=false SEND_TELEMETRY=false exec node start.mjs >"$tmp/unleash.log" 2>&1) &
node_pid=$!
for _ in $(seq 600); do
	curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
	sleep 0.1
done
curl -fs "http://127.0.0.1:$port/health" >/dev/null || { cat "$tmp/unleash.log"; exit 1; }

admin() { curl -fsS -X "$1" -H "Authorization: $UNLEASH_ADMIN_TOKEN" -H 'Content-Type: application/json' "http://127.0.0.1:$port$2" ${3:+-d "$3"}; }
for f in credit-limit fraud-screen; do
	admin POST /api/admin/projects/default/features "{\"name\":\"$f\"}" >/dev/null
done

echo "== driftwatch demo --unleash for $duration (status page: http://${HTTP:-127.0.0.1:8080})"
go run ./cmd/driftwatch demo --duration "$duration" --http "${HTTP:-127.0.0.1:8080}" --unleash "http://127.0.0.1:$port"

echo "== the flags as Unleash has them"
for f in credit-limit fraud-screen; do
	admin GET "/api/admin/projects/default/features/$f" |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const f=JSON.parse(s);const e=f.environments.find(e=>e.name==="development");const st=e.strategies[0]||{parameters:{}};console.log(`${f.name}: ${e.enabled?"on":"off"} at ${st.parameters.rollout}% (${st.title||"no note"})`)})'
	admin GET "/api/admin/events/$f" |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const e of JSON.parse(s).events.reverse()){if(e.type.startsWith("feature-strategy")||e.type.startsWith("feature-environment"))console.log(`  ${e.createdAt} ${e.type} ${e.data&&e.data.parameters?e.data.parameters.rollout+"%":""}`)}})'
done
