#!/usr/bin/env bash
# deploy/ as operators load it: the Prometheus config (with its rule file and
# file_sd target files) passes `promtool check config`, the rules pass
# `promtool check rules` without warnings and their unit tests pass, and the
# Grafana dashboard is valid JSON of the expected shape.
set -uo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE/deploy"
promtool=/usr/bin/promtool
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$promtool" ] || fail "no $promtool (tools/setup.sh installs prometheus)"

# promtool resolves the config's relative paths (rule_files, file_sd) from
# the config's directory, as Prometheus does.
cd "$root/prometheus" || fail "no $root/prometheus"
out=$("$promtool" check config prometheus.yml 2>&1) ||
  fail "promtool check config: $out"
grep -q "1 rule files found" <<<"$out" || fail "rule file not checked: $out"
out=$("$promtool" check rules xenlet.rules.yml 2>&1) ||
  fail "promtool check rules: $out"
grep -qi "warning" <<<"$out" && fail "promtool check rules warns: $out"
out=$("$promtool" test rules xenlet.rules.test.yml 2>&1) ||
  fail "promtool test rules: $out"
# A malformed target file (a map, not a list of groups) must be caught by
# check config, so the check above did read targets/.
dir=$(mktemp -d /tmp/xldc.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp -rL "$root/prometheus/." "$dir/"
echo "targets: dom0-x.example.net:9464" >"$dir/targets/xenlet-broken.yml"
(cd "$dir" && "$promtool" check config prometheus.yml >/dev/null 2>&1) &&
  fail "check config accepted a malformed file_sd target file"

python3 - "$root/grafana/xenlet-dashboard.json" <<'PY' || fail "dashboard"
import json, re, sys
d = json.load(open(sys.argv[1]))
assert 30 <= d["schemaVersion"] <= 39, d["schemaVersion"]
assert [i["name"] for i in d["__inputs"]] == ["DS_PROMETHEUS"], d["__inputs"]
variables = {v["name"]: v for v in d["templating"]["list"]}
assert "host" in variables, variables.keys()
assert "instance" in json.dumps(variables["host"]["query"])
exprs = []
ids = set()
for p in d["panels"]:
    assert p["id"] not in ids, "duplicate panel id %s" % p["id"]
    ids.add(p["id"])
    if p["type"] == "row":
        continue
    assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
    assert p["targets"], p["title"]
    for t in p["targets"]:
        assert t["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
        assert 'instance=~"$host"' in t["expr"], (p["title"], t["expr"])
        exprs.append(t["expr"])
text = "\n".join(exprs)
for needed in ["xenlet_domains", "xenlet_event_latency_seconds_bucket",
               "xenlet_xenstore_transactions_total",
               "xenlet_xenstore_requests_total", "xenlet_hypercalls_total",
               "xenlet_sweep_duration_seconds_bucket", "xenlet_watch_streams",
               "xenlet_watch_coalesced_events_total",
               "xenlet_grpc_requests_total"]:
    assert needed in text, "no panel shows " + needed
print("dashboard: %d panels, %d queries" % (len(ids), len(exprs)))
PY
echo "PASS"
