#!/usr/bin/env bash
# Quick Assist failure lab: builds client / firewall / "Microsoft" network
# namespaces joined by veth pairs, runs real software (dnsmasq, squid,
# coturn, openssl, iptables, conntrack, a Go TLS server/client and reset
# injector from labtool/), records on the client with tcpdump, rewrites the
# lab's 198.18.0.0/16 server addresses to Microsoft-like public ones and
# writes testdata/pcaps/lab/*.pcap(ng) plus expected.json. Run as root:
#
#   testdata/lab/run.sh            # every scenario
#   testdata/lab/run.sh healthy    # some of them
#
# Nothing leaves the machine: the namespaces have no route out. Everything
# started is stopped by PID and every namespace deleted on exit (trap).
set -euo pipefail

LAB=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$LAB/../.." && pwd)
OUT=$ROOT/testdata/pcaps/lab
WORK=$(mktemp -d /tmp/qalab.XXXXXX)
chmod 755 "$WORK"
touch "$WORK/pids" "$WORK/netns"

cleanup() {
	set +e
	tac "$WORK/pids" | while read -r pid; do kill "$pid" 2>/dev/null; done
	sleep 0.5
	tac "$WORK/pids" | while read -r pid; do kill -9 "$pid" 2>/dev/null; done
	while read -r ns; do ip netns del "$ns" 2>/dev/null; done <"$WORK/netns"
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() {
	local missing=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	if ((${#missing[@]})); then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
	fi
}
need iproute2 iptables conntrack tcpdump dnsmasq-base squid-openssl coturn dnsutils openssl ethtool tshark
command -v go >/dev/null || { echo "go is needed to build labtool" >&2; exit 1; }
(cd "$ROOT" && go build -o "$WORK/labtool" ./testdata/lab/labtool)
LT=$WORK/labtool
"$LT" certs "$WORK"

# Lab address -> address written into the capture (Microsoft's published
# ranges, as in internal/scenario/hosts.go).
declare -A HOST=(
	[remoteassistance.support.services.microsoft.com]=198.18.0.10
	[azure.microsoft.com]=198.18.0.10
	[login.microsoftonline.com]=198.18.0.11
	[rdprelayv3eastusprod-4.support.services.microsoft.com]=198.18.0.12
	[turn.azure.com]=198.18.0.13
	[remoteassistanceprodacs.communication.azure.com]=198.18.0.14
	[js.monitor.azure.com]=198.18.0.15
	[www.bing.com]=198.18.0.20
)
MAP=(198.18.0.10=20.42.65.90 198.18.0.11=40.126.32.134 198.18.0.12=20.185.82.115
	198.18.0.13=20.202.145.12 198.18.0.14=20.42.72.130 198.18.0.15=13.107.246.64
	198.18.0.20=13.107.21.200 198.18.255.1=203.0.113.1)
SA=remoteassistance.support.services.microsoft.com
RELAY=rdprelayv3eastusprod-4.support.services.microsoft.com

bg() { # bg NS CMD...: start in a namespace, remember the PID
	ip netns exec "$1" "${@:2}" >>"$WORK/log.$1" 2>&1 &
	echo $! >>"$WORK/pids"
	LASTPID=$!
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# topo P: namespaces ${P}c (client 10.20.30.40, TTL 128), ${P}f (firewall,
# NAT, resolver, proxy: 10.20.30.1 inside, 198.18.255.1 outside) and ${P}m
# (the "Microsoft" hosts, 198.18.0.x, TTL 128).
topo() {
	local P=$1
	for n in c f m; do ip netns add "$P$n"; echo "$P$n" >>"$WORK/netns"; done
	ip link add "${P}c0" netns "${P}c" type veth peer name "${P}f0" netns "${P}f"
	ip link add "${P}f1" netns "${P}f" type veth peer name "${P}m0" netns "${P}m"
	local C="ip netns exec ${P}c" F="ip netns exec ${P}f" M="ip netns exec ${P}m"
	$C ip addr add 10.20.30.40/24 dev "${P}c0"
	$F ip addr add 10.20.30.1/24 dev "${P}f0"
	$F ip addr add 198.18.255.1/16 dev "${P}f1"
	for a in 10 11 12 13 14 15 20; do $M ip addr add "198.18.0.$a/16" dev "${P}m0"; done
	for ns in c f m; do
		ip netns exec "$P$ns" ip link set lo up
		for i in $(ip netns exec "$P$ns" ls /sys/class/net); do
			ip netns exec "$P$ns" ip link set "$i" up
			ip netns exec "$P$ns" ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1 || true
		done
	done
	$C ip route add default via 10.20.30.1
	$M ip route add default via 198.18.255.1
	$C sysctl -qw net.ipv4.ip_default_ttl=128
	$M sysctl -qw net.ipv4.ip_default_ttl=128
	$F sysctl -qw net.ipv4.ip_forward=1
	$F iptables -t nat -A POSTROUTING -o "${P}f1" -j MASQUERADE
	# The Internet between the office and Microsoft: 14 more routers (the
	# TTL a Windows client sees from Azure is about 113). Distance in time
	# cannot be added without sch_netem, which this kernel may lack.
	$F iptables -t mangle -A PREROUTING -i "${P}f1" -j TTL --ttl-dec 14
}

dns() { # dns P [extra dnsmasq options]
	local P=$1 args=()
	for h in "${!HOST[@]}"; do [[ $h == "${NX:-}" ]] || args+=("--address=/$h/${HOST[$h]}"); done
	bg "${P}f" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
		--listen-address=10.20.30.1 --pid-file= --log-queries "${@:2}" "${args[@]}"
}

servers() { # servers P [labtool server options]; listens on all service addresses
	local P=$1 l=""
	for a in ${SERVE:-10 11 12 13 14 15 20}; do l+="198.18.0.$a:443,"; done
	bg "${P}m" "$LT" server -listen "${l%,}" -chain "$WORK/chain.pem" -key "$WORK/leaf.key" "${@:2}"
}

capstart() { # capstart P FILE [tcpdump options]; default interface c0
	local P=$1
	bg "${P}c" tcpdump -n -U -w "$WORK/$2" "${@:3}"
	CAP=$LASTPID
	sleep 1.5
}
capstop() { sleep 1; stop "$CAP"; }

client() { local P=$1; shift; ip netns exec "${P}c" "$LT" client -ca "$WORK/root.pem" "$@" || true; }

# finish RAW OUT [pcapng] : rewrite addresses, convert, and record key frames
# FILTER (a tshark display filter that selects the frames proving the cause).
finish() {
	local raw=$WORK/$1 out=$2 fmt=$3 cause=$4 filter=$5
	"$LT" rewrite "$raw" "$WORK/rw.$out" "${MAP[@]}"
	if [[ $fmt == pcapng ]]; then editcap -F pcapng "$WORK/rw.$out" "$OUT/$out"; else cp "$WORK/rw.$out" "$OUT/$out"; fi
	local keys="[]"
	if [[ -n $filter ]]; then
		keys=$(tshark -r "$OUT/$out" -Y "$filter" -T fields -e frame.number 2>/dev/null | head -40 | paste -sd, -)
		keys="[${keys}]"
	fi
	printf '{"file": "%s", "cause": "%s", "key_frames": %s}\n' "$out" "$cause" "$keys" >"$LAB/expected.d/$out.json"
	echo "== $out: $cause keys $keys"
}

sc_healthy() {
	local P=qa1; topo $P; dns $P; servers $P
	capstart $P raw "-i" "${P}c0"
	client $P -name js.monitor.azure.com
	client $P -name $SA -requests 3 -idle 300ms
	client $P -name login.microsoftonline.com -requests 2
	client $P -name www.bing.com
	client $P -name remoteassistanceprodacs.communication.azure.com -requests 2
	client $P -name $RELAY -requests 4 -idle 500ms -size 30000
	capstop
	finish raw healthy-lab-office.pcap pcap healthy ""
}

sc_dns() {
	local P=qa2; topo $P; NX=$SA dns $P "--address=/$SA/"; servers $P
	capstart $P raw -i "${P}c0" --time-stamp-precision nano
	client $P -name login.microsoftonline.com
	ip netns exec "${P}c" dig +tries=1 @10.20.30.1 $SA A >/dev/null || true
	client $P -name $SA -tries 3
	capstop
	finish raw dns_failure-lab-nxdomain.pcapng pcapng dns_failure 'dns.flags.rcode == 3'
}

sc_port() {
	local P=qa3; topo $P; dns $P; servers $P
	ip netns exec ${P}f iptables -I FORWARD -d 198.18.0.10 -p tcp --dport 443 --syn -j DROP
	capstart $P raw -i any
	client $P -name login.microsoftonline.com
	client $P -name $SA -tries 2 -timeout 8s -gap 250ms
	client $P -name www.bing.com
	capstop
	finish raw port_blocked-lab-syn-drop.pcapng pcapng port_blocked 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.dst == 20.42.65.90'
}

sc_icmp() {
	local P=qa4; topo $P; dns $P; servers $P
	ip netns exec ${P}f iptables -I FORWARD -d 198.18.0.10 -p tcp --dport 443 -j REJECT --reject-with icmp-admin-prohibited
	capstart $P raw -i "${P}c0" -s 200
	client $P -name login.microsoftonline.com
	client $P -name $SA -tries 3
	capstop
	finish raw icmp_unreachable-lab-admin-prohibited-snap200.pcap pcap icmp_unreachable 'icmp.type == 3'
}

sc_proxy() {
	local P=qa5; topo $P; dns $P; servers $P
	mkdir -p "$WORK/squid5"; chmod 777 "$WORK/squid5"
	cat >"$WORK/squid5/squid.conf" <<-CONF
	http_port 10.20.30.1:8080
	visible_hostname proxy.corp.contoso.com
	dns_nameservers 10.20.30.1
	acl qa dstdomain $SA
	acl SSL_ports port 443
	acl CONNECT method CONNECT
	http_access deny CONNECT !SSL_ports
	http_access deny qa
	http_access allow all
	cache deny all
	cache_mem 8 MB
	pid_filename $WORK/squid5/pid
	access_log stdio:$WORK/squid5/access.log
	cache_log $WORK/squid5/cache.log
	cache_effective_user proxy
	shutdown_lifetime 1 seconds
	CONF
	bg ${P}f squid -N -f "$WORK/squid5/squid.conf"
	sleep 3
	ip netns exec ${P}f iptables -I FORWARD -i ${P}f0 -p tcp --dport 443 -j REJECT --reject-with tcp-reset
	capstart $P raw -i "${P}c0"
	for u in login.microsoftonline.com $SA $SA; do
		ip netns exec ${P}c curl -sS -o /dev/null -w "$u %{http_code} %{http_connect}\n" \
			-x http://10.20.30.1:8080 --cacert "$WORK/root.pem" "https://$u/" || true
		sleep 0.5
	done
	capstop
	finish raw proxy_blocking-lab-squid-403.pcap pcap proxy_blocking 'http.request.method == "CONNECT" || http.response.code == 403'
}

# A healthy session through an explicit proxy that allows it: squid, CONNECT
# answered 200, TLS inside the tunnels. Captured with -i any (SLL2) and
# nanosecond timestamps.
sc_healthyproxy() {
	local P=qa13; topo $P; dns $P; servers $P
	mkdir -p "$WORK/squid13"; chmod 777 "$WORK/squid13"
	cat >"$WORK/squid13/squid.conf" <<-CONF
	http_port 10.20.30.1:8080
	visible_hostname proxy.corp.contoso.com
	dns_nameservers 10.20.30.1
	acl SSL_ports port 443
	acl CONNECT method CONNECT
	http_access deny CONNECT !SSL_ports
	http_access allow all
	cache deny all
	cache_mem 8 MB
	pid_filename $WORK/squid13/pid
	access_log stdio:$WORK/squid13/access.log
	cache_log $WORK/squid13/cache.log
	cache_effective_user proxy
	shutdown_lifetime 1 seconds
	CONF
	bg ${P}f squid -N -f "$WORK/squid13/squid.conf"
	sleep 3
	ip netns exec ${P}f iptables -I FORWARD -i ${P}f0 -p tcp --dport 443 -j REJECT --reject-with tcp-reset
	capstart $P raw -i any --time-stamp-precision nano
	for u in login.microsoftonline.com $SA remoteassistanceprodacs.communication.azure.com $RELAY; do
		ip netns exec ${P}c curl -sS -o /dev/null -w "$u %{http_code} %{http_connect}\n" \
			-x http://10.20.30.1:8080 --cacert "$WORK/root.pem" "https://$u/" || true
		sleep 0.3
	done
	capstop
	finish raw healthy-lab-via-proxy.pcapng pcapng healthy ""
}

sc_tls() {
	local P=qa6; topo $P; dns $P; SERVE="10 11 14" servers $P
	bg ${P}m openssl s_server -quiet -accept 198.18.0.12:443 -cert "$WORK/chain.pem" -key "$WORK/leaf.key" -tls1_3 -www
	sleep 1
	capstart $P raw -i "${P}c0"
	client $P -name $SA
	client $P -name $RELAY -tls12 -tries 2
	ip netns exec ${P}c openssl s_client -connect 198.18.0.12:443 -servername $RELAY -tls1_2 </dev/null >/dev/null 2>&1 || true
	capstop
	finish raw tls_failure-lab-protocol-version.pcapng pcapng tls_failure 'tls.alert_message'
}

sc_stun() {
	local P=qa7; topo $P; dns $P; servers $P
	bg ${P}m turnserver -n --listening-ip=198.18.0.13 --relay-ip=198.18.0.13 --listening-port=3478 \
		--lt-cred-mech --user=qa:qa --realm=azure.com --no-tls --no-dtls --no-cli --log-file=stdout --pidfile="$WORK/turn.pid"
	sleep 1
	ip netns exec ${P}f iptables -I FORWARD -p udp --dport 3478 -j DROP
	capstart $P raw -i "${P}c0"
	client $P -name $SA
	ip netns exec ${P}c dig +short @10.20.30.1 turn.azure.com >/dev/null || true
	timeout 12 ip netns exec ${P}c turnutils_stunclient -p 3478 198.18.0.13 || true
	timeout 12 ip netns exec ${P}c turnutils_uclient -u qa -w qa -n 1 -c -y 198.18.0.13 || true
	client $P -name turn.azure.com
	capstop
	finish raw stun_blocked-lab-udp-3478-dropped.pcap pcap stun_blocked 'udp.dstport == 3478'
}

sc_rst() {
	local P=qa8; topo $P; dns $P; servers $P -hsdelay 20ms
	bg ${P}f "$LT" inject -iface ${P}f0 -match remoteassistance.support
	sleep 1
	capstart $P raw -i "${P}c0"
	client $P -name login.microsoftonline.com
	client $P -name $SA -tries 2
	capstop
	finish raw rst_injection-lab-on-path.pcap pcap rst_injection 'tcp.flags.reset == 1 && ip.src == 20.42.65.90'
}

sc_sni() {
	local P=qa9; topo $P; dns $P; servers $P
	ip netns exec ${P}f iptables -I FORWARD -p tcp --dport 443 -m string --string "remoteassistance.support" --algo bm -j DROP
	capstart $P raw -i "${P}c0"
	client $P -name $SA -timeout 12s
	client $P -name azure.microsoft.com -connect 198.18.0.10
	capstop
	finish raw sni_blocking-lab-string-drop.pcapng pcapng sni_blocking 'tls.handshake.type == 1 && tls.handshake.extensions_server_name contains "remoteassistance" || (tcp.analysis.retransmission && ip.dst == 20.42.65.90)'
}

sc_intercept() {
	local P=qa10; topo $P; dns $P; servers $P
	local S=$WORK/squid10; mkdir -p "$S"; chmod 777 "$S"
	/usr/lib/squid/security_file_certgen -c -s "$S/ssldb" -M 4MB >/dev/null
	chown -R proxy "$S/ssldb"
	cat >"$S/squid.conf" <<-CONF
	http_port 10.20.30.1:3128
	https_port 10.20.30.1:3129 intercept ssl-bump tls-cert=$WORK/corpca.pem generate-host-certificates=on dynamic_cert_mem_cache_size=4MB
	sslcrtd_program /usr/lib/squid/security_file_certgen -s $S/ssldb -M 4MB
	visible_hostname fw.corp.contoso.com
	dns_nameservers 10.20.30.1
	acl step1 at_step SslBump1
	ssl_bump peek step1
	ssl_bump bump all
	tls_outgoing_options flags=DONT_VERIFY_PEER
	http_access allow all
	cache deny all
	pid_filename $S/pid
	access_log stdio:$S/access.log
	cache_log $S/cache.log
	cache_effective_user proxy
	shutdown_lifetime 1 seconds
	CONF
	chmod 644 "$WORK/corpca.pem"
	bg ${P}f squid -N -f "$S/squid.conf"
	sleep 3
	ip netns exec ${P}f iptables -t nat -I PREROUTING -i ${P}f0 -d 198.18.0.10 -p tcp --dport 443 -j DNAT --to-destination 10.20.30.1:3129
	capstart $P raw -i "${P}c0"
	client $P -name login.microsoftonline.com
	client $P -name $SA -tries 2 -tls12
	capstop
	finish raw tls_interception-lab-squid-bump.pcap pcap tls_interception 'tls.handshake.type == 11 || tls.alert_message'
}

sc_mtu() {
	local P=qa11; topo $P; dns $P; servers $P
	ip netns exec ${P}f ip link set ${P}f1 mtu 1280
	ip netns exec ${P}f iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
	capstart $P raw -i "${P}c0"
	client $P -name login.microsoftonline.com -connect 198.18.0.11 -size 200
	client $P -name $RELAY -timeout 15s
	capstop
	finish raw mtu_blackhole-lab-server-segments.pcap pcap mtu_blackhole 'tcp.analysis.retransmission || tcp.options.sack_le'
}

sc_nat() {
	# A firewall that forgets an idle flow. Its state is deleted by hand
	# (conntrack -D) 245 s into the relay connection's 255 s silence rather
	# than left to a timer, so the outcome does not depend on conntrack's
	# sweep; tcp_loose=0 and the INVALID drops keep the forgotten flow from
	# being picked up again, forwarded un-NATed or answered by the firewall.
	# Neither end sends TCP keep-alives (labtool client and server), as
	# Windows does not within two hours.
	local P=qa12; topo $P; dns $P; servers $P
	local F="ip netns exec ${P}f"
	$F sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
	[[ $($F sysctl -n net.netfilter.nf_conntrack_tcp_loose) == 0 ]] || { echo "tcp_loose not 0 in ${P}f" >&2; exit 1; }
	$F iptables -I FORWARD 1 -m conntrack --ctstate INVALID -j DROP
	$F iptables -I INPUT 1 -m conntrack --ctstate INVALID -j DROP
	capstart $P raw -i "${P}c0"
	client $P -name $SA
	ip netns exec ${P}c "$LT" client -ca "$WORK/root.pem" -name $RELAY -requests 2 -idle 255s -timeout 20s &
	local cl=$!; echo $cl >>"$WORK/pids"
	sleep 245
	$F conntrack -L -p tcp --orig-dst ${HOST[$RELAY]} --orig-port-dst 443 || true
	$F conntrack -D -p tcp --orig-dst ${HOST[$RELAY]} --orig-port-dst 443 || { echo "no relay flow to delete" >&2; exit 1; }
	wait $cl || true
	client $P -name $RELAY
	capstop
	finish raw nat_timeout-lab-conntrack-forgotten.pcap pcap nat_timeout 'tcp.analysis.retransmission && ip.dst == 20.185.82.115'
}

ALL=(healthy healthyproxy dns port icmp proxy tls stun rst sni intercept mtu nat)
SEL=("$@"); ((${#SEL[@]})) || SEL=("${ALL[@]}")
mkdir -p "$OUT" "$LAB/expected.d"
for s in "${SEL[@]}"; do
	echo "### $s"
	"sc_$s"
done
# expected.json: every scenario's line, old ones kept for scenarios not re-run.
{
	echo "["
	cat "$LAB"/expected.d/*.json | sed '$!s/$/,/'
	echo "]"
} >"$OUT/expected.json"
echo "wrote $OUT/expected.json"
