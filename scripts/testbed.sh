#!/usr/bin/env bash
# testbed.sh — a small AIM LAN in network namespaces, for oftpeer and live oftsniff tests.
#
#   sudo scripts/testbed.sh up      build it (prints KEY=VALUE lines, see below)
#   sudo scripts/testbed.sh down    remove everything it made (safe to run twice, or on a half-built bed)
#   sudo scripts/testbed.sh status  list the namespaces of this prefix that exist
#
# Layout (PREFIX defaults to "oft"; set OFT_TESTBED_PREFIX to run several beds side by side):
#
#   ns PREFIX-snd  eth0 198.18.0.1/24   file sender
#   ns PREFIX-rcv  eth0 198.18.0.2/24   file receiver
#   ns PREFIX-prx  eth0 198.18.0.10/24  ARS rendezvous proxy host
#   ns PREFIX-bos  eth0 198.18.0.20/24  FLAP/BOS host
#   ns PREFIX-mon  oftmon0 (no address) monitor: where oftsniff / tcpdump listen
#   ns PREFIX-br   br0 + one veth port per host above
#
# Every interface name lives inside a namespace, so beds with different prefixes never collide and
# nothing is added to the caller's namespace. Only 198.18.0.0/24 is used and no namespace has a
# default route, so nothing can leave the bed.
#
# Why the monitor sees every frame: MAC learning is switched off on every bridge port and the
# bridge's ageing time is 0, so the bridge has no forwarding entry for any address and floods every
# unicast frame to all ports, the monitor port included — the bridge behaves as a hub. (The
# alternative, capturing on br0 itself inside PREFIX-br, works too but relies on promiscuous mode
# of the bridge device; a plain veth behaves like a NIC on a mirror port.) IPv6 is disabled in all
# namespaces so captures hold no router solicitations or MLD noise.
#
# Segmentation offload is limited on the hosts' interfaces (gso_max_segs 1, and ethtool -K tso/gso/
# gro off when ethtool is installed) so the monitor sees wire-sized frames (≤ 1514 bytes) instead
# of 64 KiB GSO super-frames. Set OFT_TESTBED_KEEP_OFFLOAD=1 to leave offloads alone.
set -euo pipefail

PREFIX="${OFT_TESTBED_PREFIX:-oft}"
NET="198.18.0"
HOSTS=(snd rcv prx bos)
declare -A ADDR=([snd]=1 [rcv]=2 [prx]=10 [bos]=20)
declare -A ROLE=([snd]=SENDER [rcv]=RECEIVER [prx]=PROXY [bos]=BOS)
MON_IF="oftmon0"
BR_NS="${PREFIX}-br"
MON_NS="${PREFIX}-mon"

die() { echo "testbed: $*" >&2; exit 1; }

all_ns() { for h in "${HOSTS[@]}"; do echo "${PREFIX}-$h"; done; echo "$MON_NS"; echo "$BR_NS"; }

ns_exists() { [ -e "/run/netns/$1" ]; }

quiet_sysctl() { ip netns exec "$1" sysctl -q -w "$2" >/dev/null 2>&1 || true; }

# Limit offloads so captured frames are wire-sized. Best effort: a kernel or ip without the knob
# still gives a working (if less realistic) bed.
limit_offload() {
    local ns="$1" dev="$2"
    [ "${OFT_TESTBED_KEEP_OFFLOAD:-0}" = 1 ] && return 0
    ip -n "$ns" link set dev "$dev" gso_max_segs 1 2>/dev/null || true
    if command -v ethtool >/dev/null 2>&1; then
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 || true
    fi
}

up() {
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
    command -v ip >/dev/null || die "iproute2 'ip' not found"
    for ns in $(all_ns); do
        ns_exists "$ns" && die "namespace $ns already exists: run '$0 down' first (OFT_TESTBED_PREFIX=$PREFIX)"
    done
    # From here on, any failure tears down what was built.
    trap 'echo "testbed: up failed, cleaning up" >&2; down >/dev/null 2>&1' ERR

    ip netns add "$BR_NS"
    ip -n "$BR_NS" link set lo up
    quiet_sysctl "$BR_NS" net.ipv6.conf.all.disable_ipv6=1
    quiet_sysctl "$BR_NS" net.ipv6.conf.default.disable_ipv6=1
    ip -n "$BR_NS" link add br0 type bridge ageing_time 0 stp_state 0 forward_delay 0 \
        mcast_snooping 0
    ip -n "$BR_NS" link set br0 up

    for h in "${HOSTS[@]}" mon; do
        local ns="${PREFIX}-$h" dev=eth0
        [ "$h" = mon ] && dev="$MON_IF"
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        quiet_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1
        quiet_sysctl "$ns" net.ipv6.conf.default.disable_ipv6=1
        # Create the pair inside the bridge namespace and push one end straight into the host's,
        # so no interface ever appears in the caller's namespace.
        ip -n "$BR_NS" link add "p-$h" type veth peer name "$dev" netns "$ns"
        ip -n "$BR_NS" link set "p-$h" master br0
        ip -n "$BR_NS" link set dev "p-$h" type bridge_slave learning off flood on
        ip -n "$BR_NS" link set "p-$h" up
        quiet_sysctl "$ns" "net.ipv6.conf.$dev.disable_ipv6=1"
        ip -n "$ns" link set "$dev" up
        if [ "$h" != mon ]; then
            ip -n "$ns" addr add "$NET.${ADDR[$h]}/24" dev "$dev"
            limit_offload "$ns" "$dev"
        fi
    done
    limit_offload "$BR_NS" br0
    # Forget any entry learned before learning was switched off on a port.
    ip netns exec "$BR_NS" bridge fdb flush dev br0 2>/dev/null || true
    trap - ERR

    echo "OFT_TESTBED_PREFIX=$PREFIX"
    for h in "${HOSTS[@]}"; do
        echo "OFT_${ROLE[$h]}_NS=${PREFIX}-$h"
        echo "OFT_${ROLE[$h]}_IP=$NET.${ADDR[$h]}"
    done
    echo "OFT_BRIDGE_NS=$BR_NS"
    echo "OFT_MONITOR_NS=$MON_NS"
    echo "OFT_MONITOR_IF=$MON_IF"
    echo "testbed: up; capture with: ip netns exec $MON_NS tcpdump -ni $MON_IF" >&2
}

down() {
    local ns
    for ns in $(all_ns); do
        if ns_exists "$ns"; then
            # Deleting a namespace deletes its veth ends, and with them their peers.
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    echo "testbed: down ($PREFIX)" >&2
}

status() {
    local ns any=0
    for ns in $(all_ns); do
        if ns_exists "$ns"; then echo "$ns"; any=1; fi
    done
    [ "$any" = 1 ] || echo "testbed: nothing up for prefix $PREFIX" >&2
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status   (env: OFT_TESTBED_PREFIX, OFT_TESTBED_KEEP_OFFLOAD)" >&2; exit 2 ;;
esac
