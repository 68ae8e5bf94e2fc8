#!/bin/bash
# contrib/: the systemd unit (verified, and its daemon run as the unit runs
# it: answers, serves a mount, stops cleanly on SIGTERM), the Kubernetes
# manifests (the fields that make FUSE mounts reach scanner pods, and that
# arrangement reproduced with mount namespaces), the Prometheus scrape
# config and alert rules (checked, fed synthetic series, and matched against
# the metrics a live daemon exports), the metrics sidecar's filter, the
# fleet's Redis (its server and ACL as the manifest starts them, a daemon
# with strata-fleet.conf), and the bash completion (driven as bash drives it).
. "$(dirname "$0")/lib.sh"
need_fuse
need_cmd umoci skopeo jq python3 curl
CONTRIB=$(cd "$TEST_SRCDIR/../contrib" && pwd)
UNIT_IN=$CONTRIB/systemd/strata.service.in
BINDIR=$(cd "$(dirname "$STRATA")" && pwd)
[ "$(basename "$STRATA")" = strata ] || skip_all "\$STRATA must be a file named strata (built beside strata-serve)"
# The build tree holds the helper programs beside strata: the unit's
# @pkglibexecdir@ is the build directory here.
[ -x "$BINDIR/strata-serve" ] || skip_all "no strata-serve beside $STRATA"
test_images
start_registry
push_image base || exit 99
REF=$REGISTRY/strata/base

# --- systemd -------------------------------------------------------------------
UNIT=$TMP/unit/strata.service
mkdir -p "$TMP/unit"
sed "s|@pkglibexecdir@|$BINDIR|g" "$UNIT_IN" >"$UNIT"
is "the unit has no @...@ left after substitution" "$(grep -c '@[a-z]*@' "$UNIT")" 0
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify exits 0 on settings it ignores: any output at all is a finding.
	rc=0
	(cd "$TMP/unit" && systemd-analyze verify --man=no ./strata.service) >"$TMP/verify.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$TMP/verify.out" ]; then ok "systemd-analyze verify: clean"
	else not_ok "systemd-analyze verify: clean"; sed 's/^/#   /' "$TMP/verify.out"; fi
else
	skip "systemd-analyze is not installed"
fi
unit_get() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
is "Type=exec (the daemon does not speak sd_notify)" "$(unit_get Type)" exec
is "KillMode=mixed" "$(unit_get KillMode)" mixed
is "ExecStart runs the built daemon program" "$(unit_get ExecStart)" "$BINDIR/strata-serve serve"
check "/dev/fuse is allowed" grep -qx 'DeviceAllow=/dev/fuse rw' "$UNIT"
check "CAP_SYS_ADMIN is kept" grep -q '^CapabilityBoundingSet=.*CAP_SYS_ADMIN' "$UNIT"
# Each of these gives the unit a mount namespace of its own, from which no
# FUSE mount would reach the host.
ns_opts='ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|PrivateMounts|ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectProc|ProcSubset|ReadOnlyPaths|ReadWritePaths|InaccessiblePaths|TemporaryFileSystem|BindPaths|BindReadOnlyPaths|PrivateNetwork|PrivateIPC|RootDirectory|MountFlags'
is "no setting that creates a private mount namespace" \
	"$(grep -E "^($ns_opts)=" "$UNIT" | grep -v '^MountFlags=shared$' | tr '\n' ' ')" ""
is "no socket unit (the daemon binds its socket itself)" "$(find "$CONTRIB/systemd" -name '*.socket*' | wc -l)" 0

# The daemon as the unit starts it: ExecStart, no environment but what
# systemd gives, UMask, the capability bounding set and NoNewPrivileges
# (with setpriv), the configuration from the file.
mkdir -p "$TMP/etc"
cat >"$TMP/etc/strata.conf" <<EOF
[store]
path = $STRATA_STORE
[log]
level = info
EOF
read -r -a exec_start <<<"$(unit_get ExecStart)"
launcher=()
if command -v setpriv >/dev/null 2>&1; then
	caps=$(unit_get CapabilityBoundingSet | tr '[:upper:]' '[:lower:]' | sed 's/cap_/+/g; s/ /,/g')
	launcher=(setpriv --bounding-set "-all,$caps" --inh-caps -all)
	[ "$(unit_get NoNewPrivileges)" = yes ] && launcher+=(--nnp)
	note "launcher: ${launcher[*]}"
fi
(umask "$(unit_get UMask)" && exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	STRATA_CONFIG="$TMP/etc/strata.conf" "${launcher[@]}" "${exec_start[@]}") 2>"$TMP/unit-daemon.err" &
DPID=$!
at_exit "kill -KILL $DPID"
SOCK=$STRATA_STORE/strata.sock
export STRATA_CONFIG=$TMP/etc/strata.conf
for _ in $(seq 100); do curl -s -o /dev/null --unix-socket "$SOCK" http://strata/v1/version && break; sleep 0.1; done
is "the unit's daemon answers" "$(curl -s --unix-socket "$SOCK" http://strata/v1/version | jq -r .pid)" "$DPID"
check "pull through the unit's daemon" "$STRATA" pull -q "$REF"
mkdir -p "$TMP/mnt"
check "mount through the unit's daemon" "$STRATA" mount "$REF" "$TMP/mnt"
check "the mount is readable on the host" test -s "$TMP/mnt/etc/os-release"
# MemoryDenyWriteExecute=yes would kill a daemon that maps memory writable
# and executable: none has been mapped after a pull and reads.
is "no writable+executable mapping in the daemon (MemoryDenyWriteExecute)" \
	"$(awk '$2 ~ /wx/' "/proc/$DPID/maps" | wc -l)" 0

# --- Prometheus ----------------------------------------------------------------
curl -s --unix-socket "$SOCK" http://strata/metrics >"$TMP/metrics.txt"
if command -v promtool >/dev/null 2>&1; then
	check "promtool check metrics on the daemon's /metrics" sh -c "promtool check metrics <'$TMP/metrics.txt'"
	check "promtool check config prometheus.yml" promtool check config "$CONTRIB/prometheus/prometheus.yml"
	check "promtool check rules strata-alerts.yml" promtool check rules "$CONTRIB/prometheus/strata-alerts.yml"
else
	skip "promtool is not installed"; skip "promtool"; skip "promtool"
fi
# Every metric the rules use is exported.
assumed=""
# (strata_shared_memo_* only with memo.redis: the fleet's daemon, below.)
used=$(grep -o 'strata_[a-z_]*' "$CONTRIB/prometheus/strata-alerts.yml" | grep -v '^strata_shared_memo_' | sort -u)
missing=""
for m in $used; do
	grep -q "^${m}[{ ]" "$TMP/metrics.txt" || missing="$missing $m"
done
is "the alert rules use exported metrics" "${missing# }" "$assumed"

if command -v promtool >/dev/null 2>&1 && python3 -c 'import yaml' 2>/dev/null; then
	# The rules without their annotations (whose text is not the point),
	# then synthetic series: each alert fires where it should, not elsewhere.
	python3 - "$CONTRIB/prometheus/strata-alerts.yml" "$TMP/rules.yml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for g in doc["groups"]:
    for r in g["rules"]:
        r.pop("annotations", None)
yaml.safe_dump(doc, open(sys.argv[2], "w"))
PY
	cat >"$TMP/rules-test.yml" <<EOF
rule_files: [$TMP/rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="strata", instance="a"}'
        values: '0x20'
      - series: 'up{job="strata", instance="b"}'
        values: '1x20'
      - series: 'strata_cache_store_bytes{job="strata", instance="a"}'
        values: '120x30'
      - series: 'strata_cache_budget_bytes{job="strata", instance="a"}'
        values: '100x30'
      - series: 'strata_cache_store_bytes{job="strata", instance="b"}'
        values: '500x30'
      - series: 'strata_cache_budget_bytes{job="strata", instance="b"}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 10m
        alertname: StrataDaemonDown
        exp_alerts:
          - exp_labels: {severity: critical, job: strata, instance: a}
      - eval_time: 10m
        alertname: StrataCacheOverBudget
        exp_alerts: []
      - eval_time: 20m
        alertname: StrataCacheOverBudget
        exp_alerts:
          - exp_labels: {severity: warning, job: strata, instance: a}
  - interval: 1m
    input_series:
      - series: 'strata_cache_evicted_bytes_total{job="strata", instance="a"}'
        values: '0+10x100'
      - series: 'strata_cache_budget_bytes{job="strata", instance="a"}'
        values: '100x100'
      - series: 'strata_cache_evicted_bytes_total{job="strata", instance="b"}'
        values: '0+1x100'
      - series: 'strata_cache_budget_bytes{job="strata", instance="b"}'
        values: '100x100'
      - series: 'strata_pulls_total{job="strata", instance="a", outcome="failure"}'
        values: '0+1x30'
      - series: 'strata_pulls_total{job="strata", instance="a", outcome="success"}'
        values: '0+1x30'
      - series: 'strata_pulls_total{job="strata", instance="b", outcome="failure"}'
        values: '0x30'
      - series: 'strata_pulls_total{job="strata", instance="b", outcome="success"}'
        values: '0+10x30'
      - series: 'strata_fuse_errors_total{op="read", job="strata", instance="a"}'
        values: '0x10 5x10'
      - series: 'strata_fuse_errors_total{op="read", job="strata", instance="b"}'
        values: '0x20'
      - series: 'strata_cache_verify_failures_total{job="strata", instance="a"}'
        values: '0x10 3x10'
      - series: 'strata_shared_memo_up{job="strata", instance="a"}'
        values: '1x5 0x20'
      - series: 'strata_shared_memo_up{job="strata", instance="b"}'
        values: '1x5 0x5 1x15'
      - series: 'strata_shared_memo_rejected_total{job="strata", instance="a", reason="signature"}'
        values: '0x10 40x10'
      - series: 'strata_shared_memo_rejected_total{job="strata", instance="b", reason="signature"}'
        values: '0x20'
      - series: 'strata_shared_memo_dropped_total{job="strata", instance="b"}'
        values: '0x10 7x10'
    alert_rule_test:
      - eval_time: 20m
        alertname: StrataSharedMemoDown
        exp_alerts:
          - exp_labels: {severity: warning, job: strata, instance: a}
      - eval_time: 15m
        alertname: StrataSharedMemoRejects
        exp_alerts:
          - exp_labels: {severity: warning, job: strata, instance: a, reason: signature}
      - eval_time: 15m
        alertname: StrataSharedMemoDropping
        exp_alerts:
          - exp_labels: {severity: warning, job: strata, instance: b}
      - eval_time: 80m
        alertname: StrataEvictionStorm
        exp_alerts:
          - exp_labels: {severity: warning, job: strata, instance: a}
      - eval_time: 28m
        alertname: StrataPullErrors
        exp_alerts:
          - exp_labels: {severity: warning, job: strata, instance: a}
      - eval_time: 5m
        alertname: StrataPullErrors
        exp_alerts: []
      - eval_time: 15m
        alertname: StrataMountErrors
        exp_alerts:
          - exp_labels: {severity: warning, job: strata, instance: a}
      - eval_time: 15m
        alertname: StrataCacheVerifyFailed
        exp_alerts:
          - exp_labels: {severity: critical, job: strata, instance: a}
EOF
	check "promtool test rules: each alert fires on its synthetic series only" promtool test rules "$TMP/rules-test.yml"
else
	skip "promtool or python3-yaml is not installed"
fi

# --- the counters move, and the TCP listener serves /metrics alone ----------
metric() { # NAME_WITH_LABELS FILE: its value, 0 when absent
	awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }' "$2"
}
r0=$(metric strata_mount_read_bytes_total "$TMP/metrics.txt")
p0=$(metric 'strata_fuse_requests_total{op="read"}' "$TMP/metrics.txt")
cat "$TMP/mnt/etc/passwd" "$TMP/mnt/usr/bin/env" >/dev/null
curl -s --unix-socket "$SOCK" http://strata/metrics >"$TMP/metrics2.txt"
r1=$(metric strata_mount_read_bytes_total "$TMP/metrics2.txt")
p1=$(metric 'strata_fuse_requests_total{op="read"}' "$TMP/metrics2.txt")
if [ "$r1" -gt "$r0" ] && [ "$p1" -gt "$p0" ]; then ok "reads move the mount counters ($r0 -> $r1 bytes)"; else
	not_ok "reads move the mount counters (bytes $r0 -> $r1, read requests $p0 -> $p1)"; fi
pulls=$(grep -c '^strata_pulls_total{registry="127.0.0.1:[0-9]*",outcome="success"} [1-9]' "$TMP/metrics2.txt")
is "the pull is counted under its registry" "$pulls" 1
mport=$(free_port)
mstore=$TMP/store-metrics
STRATA_STORE=$mstore STRATA_DAEMON_METRICS_ADDRESS=$mport "$STRATA" serve 2>"$TMP/metricsd.err" &
MPID=$!
at_exit "kill $MPID"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$mport/metrics" && break; sleep 0.1; done
if curl -sf "http://127.0.0.1:$mport/metrics" | grep -q '^strata_mounts_active 0$'; then
	ok "daemon.metrics_address serves /metrics on loopback"
else
	not_ok "daemon.metrics_address serves /metrics on loopback"; sed 's/^/#   /' "$TMP/metricsd.err" | tail -5
fi
is "the TCP listener serves nothing else" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/v1/images")" 404
kill "$MPID"; wait "$MPID" 2>/dev/null
fails_with "a bad daemon.metrics_address" "not [HOST:]PORT" \
	env STRATA_STORE="$mstore" STRATA_DAEMON_METRICS_ADDRESS=nonsense "$STRATA" serve

# --- Kubernetes ------------------------------------------------------------------
if python3 -c 'import yaml' 2>/dev/null; then
	python3 - "$CONTRIB/kubernetes/daemonset.yaml" "$CONTRIB/kubernetes/scanner-job.yaml" "$TMP/k8s" <<'PY' >"$TMP/k8s.tap"
import os, sys, yaml
ds_docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
job_docs = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
out = sys.argv[3]
os.makedirs(out, exist_ok=True)
results = []
def check(what, cond):
    results.append((bool(cond), what))
def kind(docs, k):
    found = [d for d in docs if d.get("kind") == k]
    return found[0] if found else {}
ds, cm, job = kind(ds_docs, "DaemonSet"), kind(ds_docs, "ConfigMap"), kind(job_docs, "Job")
svc = kind(ds_docs, "Service")
check("a DaemonSet, a ConfigMap and a Job", ds and cm and job)
pod = ds.get("spec", {}).get("template", {}).get("spec", {})
vols = {v["name"]: v for v in pod.get("volumes", [])}
ctr = {c["name"]: c for c in pod.get("containers", [])}
d = ctr.get("strata", {})
mounts = {m["mountPath"]: m for m in d.get("volumeMounts", [])}
def hostpath(vols, m):
    return vols.get(m.get("name"), {}).get("hostPath", {}).get("path") if m else None
sc = d.get("securityContext", {})
check("the daemon container is privileged (or has SYS_ADMIN)",
      sc.get("privileged") is True or "SYS_ADMIN" in sc.get("capabilities", {}).get("add", []))
check("/dev/fuse is given to the daemon", hostpath(vols, mounts.get("/dev/fuse")) == "/dev/fuse")
check("the store is the hostPath /var/lib/strata", hostpath(vols, mounts.get("/var/lib/strata")) == "/var/lib/strata")
mm = mounts.get("/var/lib/strata-mounts", {})
check("the mount directory is a hostPath with Bidirectional propagation",
      hostpath(vols, mm) == "/var/lib/strata-mounts" and mm.get("mountPropagation") == "Bidirectional")
check("liveness, readiness and startup probes", all(d.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")))
probe = " ".join(d.get("livenessProbe", {}).get("exec", {}).get("command", []))
check("the liveness probe talks to the socket without the strata CLI (which would start a daemon)",
      "--unix-socket /var/lib/strata/strata.sock" in probe and not probe.startswith("strata"))
check("resources: requests and a memory limit",
      d.get("resources", {}).get("requests") and d.get("resources", {}).get("limits", {}).get("memory"))
check("terminationGracePeriodSeconds leaves time to finish a pull", pod.get("terminationGracePeriodSeconds", 30) >= 120)
check("strata.conf comes from the ConfigMap",
      "strata.conf" in cm.get("data", {}) and any(e.get("name") == "STRATA_CONFIG" for e in d.get("env", [])))
jp = job.get("spec", {}).get("template", {}).get("spec", {})
jvols = {v["name"]: v for v in jp.get("volumes", [])}
s = jp.get("containers", [{}])[0]
jm = {m["mountPath"]: m for m in s.get("volumeMounts", [])}
check("the Job shares the store (the socket's directory), read-only",
      hostpath(jvols, jm.get("/var/lib/strata")) == "/var/lib/strata"
      and jm.get("/var/lib/strata", {}).get("readOnly") is True)
jmm = jm.get("/var/lib/strata-mounts", {})
check("the Job shares the mount directory with HostToContainer propagation",
      hostpath(jvols, jmm) == "/var/lib/strata-mounts" and jmm.get("mountPropagation") == "HostToContainer")
env = {e["name"]: e.get("value") for e in s.get("env", [])}
check("the Job's TMPDIR is the shared mount directory", env.get("TMPDIR") == "/var/lib/strata-mounts")
check("the Job is not privileged", not s.get("securityContext", {}).get("privileged"))
check("the Job runs strata analyze or strata run", s.get("command", [""])[0] == "strata" and s["command"][1] in ("analyze", "run"))
m = ctr.get("metrics", {})
check("the metrics sidecar exposes port 'metrics' and sees the store read-only",
      any(p.get("name") == "metrics" for p in m.get("ports", []))
      and any(v.get("mountPath") == "/var/lib/strata" and v.get("readOnly") for v in m.get("volumeMounts", [])))
check("a headless Service publishes not-ready daemons for scraping",
      svc.get("spec", {}).get("clusterIP") == "None" and svc.get("spec", {}).get("publishNotReadyAddresses") is True)
# For the shell side of the test: the sidecar filter, its command, the
# daemon's start script.
open(out + "/metrics-filter.sh", "w").write(cm.get("data", {}).get("metrics-filter.sh", ""))
open(out + "/metrics-cmd", "w").write("\n".join(m.get("command", [])) + "\n")
open(out + "/daemon-start.sh", "w").write(d.get("args", [""])[0])
for good, what in results:
    print(("ok" if good else "not ok") + "\t" + what)
PY
	while IFS=$'\t' read -r res what; do
		if [ "$res" = ok ]; then ok "k8s: $what"; else not_ok "k8s: $what"; fi
	done <"$TMP/k8s.tap"
	[ -s "$TMP/k8s.tap" ] || not_ok "k8s: the manifests parse"
else
	skip "python3-yaml is not installed"
fi

# The metrics sidecar, as the DaemonSet runs it, with the port and the
# paths of this test: /metrics only.
if [ -s "$TMP/k8s/metrics-cmd" ] && command -v socat >/dev/null 2>&1; then
	mport=$(free_port)
	mapfile -t mcmd <"$TMP/k8s/metrics-cmd"
	for i in "${!mcmd[@]}"; do
		mcmd[i]=${mcmd[i]//TCP-LISTEN:9433/TCP-LISTEN:$mport,bind=127.0.0.1}
		mcmd[i]=${mcmd[i]//\/etc\/strata\/metrics-filter.sh/$TMP\/k8s\/metrics-filter.sh}
	done
	STRATA_SOCK=$SOCK "${mcmd[@]}" 2>"$TMP/socat.err" &
	spid=$!
	at_exit "kill $spid"
	wait_http "http://127.0.0.1:$mport/metrics" 50
	curl -s -o "$TMP/sidecar.txt" -w '%{http_code}' "http://127.0.0.1:$mport/metrics" >"$TMP/sidecar.code"
	is "sidecar: GET /metrics is 200" "$(cat "$TMP/sidecar.code")" 200
	check "sidecar: the daemon's metrics, intact" grep -q '^strata_cache_store_bytes ' "$TMP/sidecar.txt"
	if command -v promtool >/dev/null 2>&1; then
		check "sidecar: promtool check metrics" sh -c "promtool check metrics <'$TMP/sidecar.txt'"
	fi
	is "sidecar: GET /v1/images is refused" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/v1/images")" 404
	is "sidecar: POST /v1/pull is refused" \
		"$(curl -s -o /dev/null -w '%{http_code}' -d '{"ref":"x"}' "http://127.0.0.1:$mport/v1/pull")" 404
	is "sidecar: DELETE /v1/mounts is refused" \
		"$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$mport/v1/mounts?path=$TMP/mnt")" 404
	check "sidecar: the mount is still there" test -s "$TMP/mnt/etc/os-release"
else
	skip "socat is not installed (or the manifests did not parse): metrics sidecar not run"
fi

# The Kubernetes arrangement with plain mount namespaces: the mount
# directory shared by the host (as kubelet's hostPath under a shared /), a
# "scanner" in a namespace of its own that receives mounts from the host
# (HostToContainer) and sees the store read-only. strata run there has the
# daemon mount under TMPDIR, reads the image, and leaves nothing behind.
SHARED=$TMP/strata-mounts
mkdir -p "$SHARED"
if "$STRATA" --help 2>&1 | grep -q '^  run ' && command -v unshare >/dev/null 2>&1 &&
	mount --bind "$SHARED" "$SHARED" && mount --make-shared "$SHARED"; then
	at_exit "umount -l '$SHARED'"
	want=$(cat "$TMP/mnt/etc/debian_version")
	got=$(unshare -m --propagation slave sh -c '
		mount --bind "$STRATA_STORE" "$STRATA_STORE" && mount -o remount,bind,ro "$STRATA_STORE" || exit 99
		TMPDIR="$0" "$1" run "$2" -- sh -c "cat \"\$STRATA_ROOT/etc/debian_version\""' \
		"$SHARED" "$STRATA" "$REF" 2>"$TMP/scanner.err")
	is "scanner namespace: strata run reads the image mounted by the host's daemon" "$got" "$want"
	[ -n "$got" ] || sed 's/^/#   /' "$TMP/scanner.err"
	is "scanner namespace: the run's mount is gone" "$("$STRATA" mounts --json | jq -r '.[].mountpoint' | grep -c "^$SHARED")" 0
	is "scanner namespace: its directory is removed" "$(ls -A "$SHARED")" ""
	# A store read-only is no place for a daemon: with none answering, the
	# scanner's strata fails instead of starting one of its own.
	S3=$TMP/store3
	mkdir -p "$S3"
	rc=0
	unshare -m --propagation slave sh -c '
		mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99
		STRATA_STORE="$1" "$0" images' "$STRATA" "$S3" >/dev/null 2>"$TMP/ro-store.err" || rc=$?
	check "scanner namespace: with no daemon, strata fails on a read-only store" test "$rc" -ne 0 -a "$rc" -ne 99
	check "and no daemon runs for that store" test ! -e "$S3/strata.sock"
else
	skip "strata run, unshare or a shared bind mount is not available: scanner namespace not tried"
fi

# The DaemonSet's start script clears mount points a killed daemon left
# dead under the mount directory: a daemon of its own on a second store,
# SIGKILLed with an image mounted there.
if [ -s "$TMP/k8s/daemon-start.sh" ]; then
	S2=$TMP/store2
	mkdir -p "$S2" "$SHARED/dead"
	STRATA_STORE=$S2 "$STRATA" serve 2>"$TMP/store2.err" &
	pid2=$!
	at_exit "kill -KILL $pid2"
	for _ in $(seq 100); do curl -s -o /dev/null --unix-socket "$S2/strata.sock" http://strata/v1/version && break; sleep 0.1; done
	STRATA_STORE=$S2 "$STRATA" mount "oci:$IMAGES:base" "$SHARED/dead" || not_ok "mount on a second store"
	kill -KILL "$pid2"; wait "$pid2" 2>/dev/null
	rc=0; stat "$SHARED/dead/etc" >/dev/null 2>"$TMP/stat.err" || rc=$?
	check "a killed daemon leaves its mount point dead" grep -q "not connected" "$TMP/stat.err"
	sed -e "s|/var/lib/strata-mounts/|$SHARED/|g" -e 's/^ *exec strata serve.*$//' "$TMP/k8s/daemon-start.sh" >"$TMP/clear.sh"
	check "the DaemonSet's start script runs" sh "$TMP/clear.sh"
	is "it cleared the dead mount point" "$(grep -c " $SHARED/dead " /proc/self/mounts)" 0
fi

# --- bash completion -------------------------------------------------------------
# comp LINE: what the completion offers with the cursor at the end of LINE,
# sorted, one per line. COMP_WORDS is split as bash splits it: blanks
# separate words, and ':' and '=' (COMP_WORDBREAKS) are words of their own.
cat >"$TMP/comp.sh" <<'EOF'
comp() {
	local line=$1 rest tok
	COMP_LINE=$line COMP_POINT=${#line} COMP_WORDS=() COMP_CWORD=0
	rest=$line
	while [[ $rest ]]; do
		if [[ $rest == [[:space:]]* ]]; then rest=${rest#[[:space:]]}; continue; fi
		if [[ $rest == [:=]* ]]; then tok=${rest%%[^:=]*}; else tok=${rest%%[[:space:]:=]*}; fi
		COMP_WORDS+=("$tok")
		rest=${rest#"$tok"}
	done
	[[ $line == *[[:space:]] || ${#COMP_WORDS[@]} -eq 0 ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_strata
	printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | grep -v '^$' | tr '\n' ' ' | sed 's/ $//'
}
EOF
# The completion runs `strata` from PATH, as a user's shell would.
comp() {
	PATH="$BINDIR:$PATH" bash -c '. "$1"; . "$2"; comp "$3"' _ "$CONTRIB/bash-completion/strata" "$TMP/comp.sh" "$1" 2>&1
}
check "the completion file is valid bash" bash -n "$CONTRIB/bash-completion/strata"
is "strata ca<TAB>" "$(comp 'strata ca')" "cache"
is "strata <TAB> lists every command" "$(comp 'strata ')" \
	"analyze cache config images inspect mount mounts pull rmi run serve umount"
is "strata cache <TAB>" "$(comp 'strata cache ')" "gc ls prune stats verify"
is "strata pull --<TAB>" "$(comp 'strata pull --')" "--lazy --platform --quiet"
is "strata cache prune --<TAB>" "$(comp 'strata cache prune --')" "--all --dry-run --json --max-size --older-than"
is "strata cache stats --<TAB>" "$(comp 'strata cache stats --')" "--json --prometheus"
is "strata config <TAB>" "$(comp 'strata config ')" "show"
is "strata --<TAB> (global options)" "$(comp 'strata --')" "--config --help --quiet --store --verbose --version"
is "strata analyze --format <TAB>" "$(comp 'strata analyze --format ')" "cyclonedx-json json spdx-json table"
is "strata analyze --format=s<TAB>" "$(comp 'strata analyze --format=s')" "spdx-json"
is "strata analyze -f t<TAB>" "$(comp 'strata analyze -f t')" "table"
is "strata analyze --analyzers dpkg,py<TAB>" "$(comp 'strata analyze --analyzers dpkg,py')" "dpkg,python"
is "strata run REF --<TAB>" "$(comp "strata run $REF --")" "--"
is "strata run REF -- ech<TAB> completes commands" "$(comp "strata run $REF -- ech")" "echo"
is "strata pull --platform linux/arm6<TAB>" "$(comp 'strata pull --platform linux/arm6')" "linux/arm64 linux/arm64/v8"
mkdir -p "$TMP/dirs/alpha" "$TMP/dirs/beta"
is "strata mount REF DIR<TAB> completes directories" "$(comp "strata mount x $TMP/dirs/al")" "$TMP/dirs/alpha"
# Image references from the running daemon, whole or after bash's ':'.
is "strata inspect <TAB> lists the stored image" "$(comp 'strata inspect ')" "$REF:latest"
is "strata rmi 127<TAB>" "$(comp 'strata rmi 127')" "$REF:latest"
is "strata inspect HOST:<TAB> offers what follows the colon" "$(comp "strata inspect ${REGISTRY%%:*}:")" \
	"${REF#*:}:latest"
is "strata mount REF:l<TAB> offers what follows the last colon" "$(comp "strata mount $REF:l")" "latest"
is "strata analyze <TAB> offers images and directories" \
	"$(cd "$TMP/dirs" && comp 'strata analyze ' | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$REF:latest alpha beta"
is "strata umount <TAB> lists the live mount" "$(comp 'strata umount ')" "$TMP/mnt"
# No daemon for this store: nothing, quietly, and none started.
is "references of a store with no daemon: nothing" "$(comp "strata --store $TMP/nostore inspect ")" ""
check "and no daemon started for it" test ! -e "$TMP/nostore"
is "references when the environment names a store with no daemon: nothing" \
	"$(STRATA_STORE=$TMP/nostore2 comp 'strata inspect ')" ""
check "and no daemon started for it either" test ! -e "$TMP/nostore2"

# --- a fleet: redis.yaml's server, strata's ACL user, strata-fleet.conf ------------
# The manifest's server command (valkey-server there, redis-server here: the
# same arguments), its ACL user, and a daemon configured as the DaemonSet
# configures it: the ACL must let the daemon read and write, and nothing else.
if python3 -c 'import yaml' 2>/dev/null && command -v redis-server >/dev/null 2>&1; then
	python3 - "$CONTRIB/kubernetes/redis.yaml" "$CONTRIB/kubernetes/daemonset.yaml" "$TMP/fleet" <<'PY' >"$TMP/fleet.tap"
import os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ds_docs = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
out = sys.argv[3]
os.makedirs(out, exist_ok=True)
def kind(docs, k):
    found = [d for d in docs if d.get("kind") == k]
    return found[0] if found else {}
dep, svc, np, cm = (kind(docs, k) for k in ("Deployment", "Service", "NetworkPolicy", "ConfigMap"))
res = []
def check(what, cond):
    res.append((bool(cond), what))
check("redis.yaml: a Deployment, a Service, a NetworkPolicy and a ConfigMap", dep and svc and np and cm)
c = dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}) for e in c.get("env", [])}
check("redis.yaml: the password comes from the strata-redis Secret", env.get("REDIS_PASSWORD", {}).get("name") == "strata-redis")
sel = np.get("spec", {}).get("ingress", [{}])[0].get("from", [{}])[0].get("podSelector", {}).get("matchLabels", {})
check("redis.yaml: only the store daemons may connect", sel.get("app.kubernetes.io/component") == "store-daemon")
conf = cm.get("data", {}).get("redis.conf", "")
check("redis.yaml: a cache that evicts when full", "maxmemory-policy allkeys-lru" in conf and 'save ""' in conf)
ds = kind(ds_docs, "DaemonSet")
pod = ds.get("spec", {}).get("template", {}).get("spec", {})
d = [x for x in pod.get("containers", []) if x["name"] == "strata"][0]
denv = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}) for e in d.get("env", [])}
ref = denv.get("STRATA_MEMO_REDIS", {})
check("daemonset.yaml: STRATA_MEMO_REDIS from the Secret, optional", ref.get("name") == "strata-redis" and ref.get("optional") is True)
vol = [v for v in pod.get("volumes", []) if v["name"] == "fleet-key"]
sec = vol[0].get("secret", {}) if vol else {}
check("daemonset.yaml: the HMAC key from the Secret, mode 0400, optional",
      sec.get("secretName") == "strata-redis" and sec.get("defaultMode") == 0o400 and sec.get("optional") is True)
check("daemonset.yaml: mounted where strata-fleet.conf looks",
      any(m.get("mountPath") == "/etc/strata-fleet" for m in d.get("volumeMounts", [])))
open(out + "/redis.conf", "w").write(conf)
open(out + "/args", "w").write(c.get("args", [""])[0])
for good, what in res:
    print(("ok" if good else "not ok") + "\t" + what)
PY
	while IFS=$'\t' read -r res what; do
		if [ "$res" = ok ]; then ok "fleet: $what"; else not_ok "fleet: $what"; fi
	done <"$TMP/fleet.tap"
	# The server as the manifest starts it, on loopback here.
	rport=$(free_port)
	sed -e "s/^port .*/port $rport/" -e 's/^bind .*/bind 127.0.0.1/' -e 's/^maxmemory .*/maxmemory 64mb/' \
		"$TMP/fleet/redis.conf" >"$TMP/fleet/redis-local.conf"
	sed -e 's/valkey-server/redis-server/' -e "s|/etc/redis/redis.conf|$TMP/fleet/redis-local.conf|" \
		"$TMP/fleet/args" >"$TMP/fleet/start.sh"
	mkdir -p "$TMP/fleet/data"
	(cd "$TMP/fleet/data" && REDIS_PASSWORD=fleet-test-password exec sh "$TMP/fleet/start.sh" >"$TMP/fleet/redis.log" 2>&1) &
	rpid=$!
	at_exit "kill $rpid"
	wait_tcp "$rport" || not_ok "fleet: the manifest's server starts"
	is "fleet: the default user is off" "$(redis-cli -p "$rport" PING 2>&1 | cut -c1-6)" NOAUTH
	rc() { REDISCLI_AUTH=fleet-test-password redis-cli -p "$rport" --user strata "$@" 2>&1; }
	is "fleet: strata's user may not touch other keys" "$(rc SET other 1 | cut -c1-6)" NOPERM
	is "fleet: nor list keys" "$(rc KEYS '*' | cut -c1-6)" NOPERM
	is "fleet: nor flush" "$(rc FLUSHALL | cut -c1-6)" NOPERM
	# A daemon with strata-fleet.conf and the Secret's values, as the DaemonSet has.
	openssl rand -hex 32 >"$TMP/fleet/hmac.key"
	chmod 0400 "$TMP/fleet/hmac.key"
	sed "s|/etc/strata-fleet/hmac.key|$TMP/fleet/hmac.key|; s|^path = .*|path = $TMP/fleet/store|" \
		"$CONTRIB/kubernetes/strata-fleet.conf" >"$TMP/fleet/strata.conf"
	fleet() { STRATA_CONFIG=$TMP/fleet/strata.conf STRATA_MEMO_REDIS=redis://strata:fleet-test-password@127.0.0.1:$rport \
		env -u STRATA_STORE "$STRATA" "$@"; }
	check "fleet: strata-fleet.conf loads" fleet config show
	check "fleet: a daemon starts with it" fleet images
	fsock=$TMP/fleet/store/strata.sock
	curl -s --unix-socket "$fsock" -X POST http://strata/v1/analysis/store \
		-d '{"results": {"files@1/00": {"records": []}}}' >/dev/null
	for _ in $(seq 50); do
		curl -s --unix-socket "$fsock" http://strata/metrics | grep -q '^strata_shared_memo_written_total 1$' && break
		sleep 0.1
	done
	curl -s --unix-socket "$fsock" -X POST http://strata/v1/analysis/lookup -d '{"keys": ["files@1/01"]}' >/dev/null
	curl -s --unix-socket "$fsock" http://strata/metrics >"$TMP/fleet/metrics"
	is "fleet: the ACL lets the daemon write (SET ... PX)" \
		"$(grep -c '^strata_shared_memo_written_total 1$' "$TMP/fleet/metrics")" 1
	is "fleet: and read (MGET), with no failed call" \
		"$(grep -E '^strata_shared_memo_(misses_total\{kind="result"\}|errors_total\{op="(read|write)"\}) ' "$TMP/fleet/metrics" | awk '{print $2}' | tr '\n' ' ')" "1 0 0 "
	missing=""
	for m in $(grep -o 'strata_shared_memo_[a-z_]*' "$CONTRIB/prometheus/strata-alerts.yml" | sort -u); do
		grep -Eq "^${m}(_bucket|_sum|_count)?[{ ]" "$TMP/fleet/metrics" || missing="$missing $m"
	done
	is "fleet: the shared memo's alert rules use metrics its daemon exports" "${missing# }" ""
	if command -v promtool >/dev/null 2>&1; then
		check "fleet: promtool check metrics on its /metrics" sh -c "promtool check metrics <'$TMP/fleet/metrics'"
	fi
	is "fleet: the value is signed (flags 2)" \
		"$(rc --raw GET 'strata:result:files@1/00' | head -c7 | tail -c1 | od -An -tu1 | tr -d ' \n')" 2
	kill "$(curl -s --unix-socket "$fsock" http://strata/v1/version | jq -r .pid)"
else
	skip "python3-yaml or redis-server is not installed: the fleet's manifests not run"
fi

# --- stop as systemd stops the unit: SIGTERM to the daemon alone ---------------
kill -TERM "$DPID"
rc=0
for _ in $(seq 300); do running "$DPID" || break; sleep 0.1; done
wait "$DPID" || rc=$?
is "the unit's daemon exits 0 on SIGTERM" "$rc" 0
is "its mount is gone" "$(grep -c " $TMP/mnt " /proc/self/mounts)" 0
check "its socket is removed" test ! -e "$SOCK"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/unit-daemon.err" | tail -5
done_testing
