#!/bin/bash
# t0310-mirror: registry.mirrors. A real pull-through cache (docker-registry
# in proxy mode) in front of the origin serves the pull; a mirror that is
# down, or lacks the image, is logged and the origin serves it instead.
. "$(dirname "$0")/lib.sh"

need_cmd skopeo jq curl
[ -x "$STRATA" ] || skip_all "strata is not built ($STRATA)"
test_images
start_registry origin
ORIGIN=$REGISTRY ORIGIN_LOG=$REGISTRY_LOG
push_image base || exit 99
push_image rebuilt || exit 99
start_registry mirror "proxy:
  remoteurl: http://$ORIGIN"
MIRROR=$REGISTRY MIRROR_LOG=$REGISTRY_LOG

# requests LOG: access-log lines (GET/HEAD on /v2/...) so far.
requests() { grep -c '"\(GET\|HEAD\) /v2/[^ ]*/\(manifests\|blobs\)/' "$1" || true; }

# --- the mirror serves: the origin is reached only through it ---------------
o0=$(requests "$ORIGIN_LOG")
export STRATA_REGISTRY_MIRRORS="$ORIGIN=http://$MIRROR"
check "pull through the mirror" "$STRATA" pull -q "$ORIGIN/strata/base"
m1=$(requests "$MIRROR_LOG")
if [ "$m1" -gt 0 ]; then ok "the mirror was asked ($m1 requests)"; else
	not_ok "the mirror was asked"; tail -5 "$MIRROR_LOG" | sed 's/^/#   /'; fi
want=$(skopeo inspect --config "oci:$IMAGES:base" | jq -r '.rootfs.diff_ids[]')
is "the image came complete" "$("$STRATA" inspect "$ORIGIN/strata/base" --json | jq -r '.layers[].diff_id')" "$want"
is "the image is stored under the origin's name" \
	"$("$STRATA" images --json | jq -r '.[].names[]' | grep -c "^$ORIGIN/strata/base:latest$")" 1
# A pull-through cache fetches from the origin itself, so the origin's log
# shows the proxy's requests: the point is that strata spoke to the mirror.
grep -q "mirror '.*' of '$ORIGIN'" "$STRATA_STORE/daemon.log" &&
	not_ok "no fallback was logged" || ok "no fallback was logged"

# --- a mirror that is down: warning, then the origin ------------------------
dead=127.0.0.1:$(free_port)
export STRATA_REGISTRY_MIRRORS="$ORIGIN=$dead"
o1=$(requests "$ORIGIN_LOG")
# The daemon reads its configuration when it starts: restart it.
stop_daemons
check "pull with the mirror down" "$STRATA" pull -q "$ORIGIN/strata/rebuilt"
o2=$(requests "$ORIGIN_LOG")
if [ "$o2" -gt "$o1" ]; then ok "the origin served it ($((o2 - o1)) requests)"; else not_ok "the origin served it"; fi
if grep -q "mirror '$dead' of '$ORIGIN'.*using the origin" "$STRATA_STORE/daemon.log"; then
	ok "the fallback is logged"
else
	not_ok "the fallback is logged"; tail -5 "$STRATA_STORE/daemon.log" | sed 's/^/#   /'
fi
want=$(skopeo inspect --config "oci:$IMAGES:rebuilt" | jq -r '.rootfs.diff_ids[]')
is "the fallback image is complete" "$("$STRATA" inspect "$ORIGIN/strata/rebuilt" --json | jq -r '.layers[].diff_id')" "$want"
check "the store verifies clean" "$STRATA" cache verify

# --- a mirror of another registry is not used --------------------------------
export STRATA_REGISTRY_MIRRORS="other.example=$MIRROR"
stop_daemons
"$STRATA" rmi "$ORIGIN/strata/base" >/dev/null
m2=$(requests "$MIRROR_LOG")
check "pull with a mirror for another registry" "$STRATA" pull -q "$ORIGIN/strata/base"
is "that mirror was not asked" "$(requests "$MIRROR_LOG")" "$m2"
done_testing
