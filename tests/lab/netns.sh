# Sourced by tests/run.sh and bench/netns.sh (as root): a private network namespace with only `lo`, and the
# lab's host names in its own /etc/hosts, so that nothing the suite or a bench starts can reach another host.
# After sourcing: lab_netns_up creates it (and removes it on exit); run_in_lab CMD… runs a command in it.
lab_netns_up() {
  ns="ocslab-$$"
  mkdir -p "/etc/netns/$ns"
  printf 'nameserver 127.0.0.53\noptions timeout:1 attempts:1\n' > "/etc/netns/$ns/resolv.conf"
  cat > "/etc/netns/$ns/hosts" <<HOSTS
127.0.0.1 localhost
127.0.0.2 ocsdc1.todorovic.adds ocsdc1
127.0.0.3 ocsdc2.todorovic.adds ocsdc2
127.0.0.20 ocs.todorovic.adds ocs
127.0.0.40 pki.todorovic.adds pki
HOSTS
  trap 'ip netns delete "$ns" 2>/dev/null || true; rm -rf "/etc/netns/$ns"' EXIT
  ip netns add "$ns"
  ip -n "$ns" link set lo up
}

run_in_lab() { ip netns exec "$ns" "$@"; }
