#!/usr/bin/env bash
# rgw-up.sh — a throwaway single-node Ceph cluster (1 mon, 1 memstore OSD, no mgr) plus a RADOS
# Gateway (S3 API) on 127.0.0.1, for tests. No systemd, no root, nothing written outside one
# temporary directory. Starts in about 2 s.
#
# Needs (Debian 12):  apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw
#
# Usage:
#   eval "$(scripts/rgw-up.sh)"        # start; prints export lines (RGW_DIR, RGW_PORT, S3_ENDPOINT,
#                                      # REPOD_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION)
#   scripts/rgw-up.sh stop "$RGW_DIR"  # SIGKILL the daemons and delete the directory
#
# Tunables (env): RGW_PORT (default: a free port), RGW_MON_PORT (default: a free port),
#   RGW_ACCESS_KEY / RGW_SECRET_KEY, RGW_STORE=memstore|bluestore (default memstore),
#   RGW_STORE_SIZE_MB (default 2048: memstore RAM cap, or the sparse bluestore file's size),
#   RGW_WORKDIR (use this directory instead of mktemp; deleted by `stop`).
#
# Quirks of this RGW (Ceph 16.2) the storage driver copes with: If-Match on PutObject matches only
# the ETag without its double quotes; a losing conditional PUT may answer 500 instead of 412 under
# contention; CompleteMultipartUpload ignores If-None-Match; CRC32 checksum trailers (the AWS SDK's
# default since 2025) are not understood (use requestChecksumCalculation: WHEN_REQUIRED).
set -euo pipefail

log() { echo "[rgw-up] $*" >&2; }

if [[ "${1:-}" == "stop" ]]; then
  # throwaway cluster: SIGKILL (a graceful stop takes 2-7 s), then delete the directory
  dir="${2:?usage: rgw-up.sh stop DIR}"
  [[ -f "$dir/ceph.conf" ]] || { log "$dir is not an rgw-up directory"; exit 1; }
  for f in "$dir"/run/*.pid; do
    [[ -f "$f" ]] && kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  sleep 0.2
  rm -rf "$dir"
  exit 0
fi

for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph curl; do
  command -v "$b" >/dev/null || { log "missing $b (apt-get install ceph-mon ceph-osd radosgw curl)"; exit 1; }
done

# A TCP port nothing listens on (kernel-assigned when python3 is there; random otherwise).
free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  log "no free port found"; return 1
}

PORT="${RGW_PORT:-$(free_port)}"
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
  log "something already listens on 127.0.0.1:$PORT (set RGW_PORT)"; exit 1
fi
MON_PORT="${RGW_MON_PORT:-$(free_port)}"
T0=$(date +%s%N)
el() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf "%d.%03ds" $((ms/1000)) $((ms%1000)); }
if [[ -n "${RGW_WORKDIR:-}" ]]; then mkdir -p "$RGW_WORKDIR"; DIR="$RGW_WORKDIR"; else DIR="$(mktemp -d -t rgw.XXXXXX)"; fi
DIR="$(cd "$DIR" && pwd)"
mkdir -p "$DIR"/{run,log,mon.a,osd.0,rgw,crash}
AK="${RGW_ACCESS_KEY:-testaccesskey}"
SK="${RGW_SECRET_KEY:-testsecretkey}"
STORE="${RGW_STORE:-memstore}"
[[ "$STORE" == memstore || "$STORE" == bluestore ]] || { log "RGW_STORE must be memstore or bluestore"; rm -rf "$DIR"; exit 1; }
SIZE_MB="${RGW_STORE_SIZE_MB:-2048}"
FSID="$(cat /proc/sys/kernel/random/uuid)"
OSD_UUID="$(cat /proc/sys/kernel/random/uuid)"
CONF="$DIR/ceph.conf"

cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
ms_bind_msgr1 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
pid_file = $DIR/run/\$name.pid
log_file = $DIR/log/\$name.log
crash_dir = $DIR/crash
log_to_stderr = false
err_to_stderr = false
mon_cluster_log_file = $DIR/log/cluster.log
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_data_avail_warn = 1
mon_data_avail_crit = 0
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
[mon]
mon_data = $DIR/mon.\$id
mon_initial_members = a
[osd]
osd_data = $DIR/osd.\$id
osd_objectstore = $STORE
memstore_device_bytes = $((SIZE_MB * 1024 * 1024))
bluestore_block_path = $DIR/osd.\$id.block
bluestore_block_create = true
bluestore_block_size = $((SIZE_MB * 1024 * 1024))
bluestore_fsck_on_mount = false
bluestore_cache_size = 134217728
osd_memory_target = 939524096
osd_max_object_name_len = 460
osd_max_object_namespace_len = 64
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
[client]
rgw_data = $DIR/rgw
[client.rgw]
# radosgw defaults to cephx and secure mon mode; this throwaway cluster has auth off
auth_client_required = none
ms_mon_client_mode = crc
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_thread_pool_size = 32
rgw_enable_usage_log = false
rgw_dns_name = localhost
CONF

C=(-c "$CONF")
# on any failure: print the log tails, stop what was started, remove the directory
trap 'rc=$?; log "FAILED (rc=$rc); log tails:"; tail -n 5 "$DIR"/log/*.log >&2 || true; "$0" stop "$DIR"; exit $rc' ERR

# --- monitor ---
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$DIR/monmap"
ceph-mon "${C[@]}" -i a
log "mon up on port $MON_PORT ($(el))"

# --- OSD ---
OSD_ID="$(ceph "${C[@]}" --connect-timeout 20 osd new "$OSD_UUID")"
ceph-osd "${C[@]}" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" 2>>"$DIR/log/osd-mkfs.log"
ceph-osd "${C[@]}" -i "$OSD_ID"
for _ in $(seq 1 300); do
  if ceph "${C[@]}" osd dump 2>/dev/null | grep -q "^osd.$OSD_ID up"; then break; fi
  sleep 0.2
done
ceph "${C[@]}" osd dump | grep -q "^osd.$OSD_ID up" || { log "osd did not come up"; false; }
log "osd up ($(el))"

# --- RGW user (also creates the rgw pools) + gateway ---
radosgw-admin "${C[@]}" user create --uid=test --display-name=test \
  --access-key="$AK" --secret-key="$SK" >/dev/null 2>>"$DIR/log/radosgw-admin.log"
radosgw "${C[@]}" -n client.rgw -f </dev/null >>"$DIR/log/radosgw.out" 2>&1 &
RGW_PID=$!
echo "$RGW_PID" >"$DIR/run/radosgw.pid"
for _ in $(seq 1 300); do
  kill -0 "$RGW_PID" 2>/dev/null || { log "radosgw exited"; false; }
  if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then break; fi
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" || { log "rgw not answering"; false; }
trap - ERR
log "rgw up on 127.0.0.1:$PORT ($(el) total)"

cat <<ENV
export RGW_DIR='$DIR'
export RGW_PORT='$PORT'
export S3_ENDPOINT='http://127.0.0.1:$PORT'
export REPOD_S3_ENDPOINT='http://127.0.0.1:$PORT'
export AWS_ACCESS_KEY_ID='$AK'
export AWS_SECRET_ACCESS_KEY='$SK'
export AWS_REGION='us-east-1'
ENV
