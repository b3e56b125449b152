#!/bin/bash
# "Two machines": node 0 and node 1 (NODE_RANK, devices = 1, num_nodes = 2)
# find each other through MASTER_ADDR/MASTER_PORT only, as two hosts would.
#   two_nodes.sh <test_ddp_trainer> <scratch dir> loopback   both on 127.0.0.1
#   two_nodes.sh <test_ddp_trainer> <scratch dir> netns      each in its own network
#       namespace, joined by a veth pair (10.231.0.1 <-> 10.231.0.2): the traffic
#       crosses a real network interface. Needs root; exits 77 (skip) otherwise.
set -u
bin=$1 dir=$2 net=${3:-loopback}
mkdir -p "$dir"
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  if [ "$net" = netns ]; then
    ip netns del "lc0_$$" 2>/dev/null
    ip netns del "lc1_$$" 2>/dev/null
  fi
}
trap cleanup EXIT

if [ "$net" = netns ]; then
  ip netns add "lc0_$$" 2>/dev/null || { echo "cannot create network namespaces (not root?): skipped"; exit 77; }
  ip netns add "lc1_$$" || exit 77
  ip link add "lcv0_$$" type veth peer name "lcv1_$$" || exit 77
  ip link set "lcv0_$$" netns "lc0_$$" && ip link set "lcv1_$$" netns "lc1_$$" || exit 1
  ip -n "lc0_$$" addr add 10.231.0.1/24 dev "lcv0_$$" && ip -n "lc1_$$" addr add 10.231.0.2/24 dev "lcv1_$$" || exit 1
  for i in 0 1; do ip -n "lc${i}_$$" link set lo up; ip -n "lc${i}_$$" link set "lcv${i}_$$" up; done
  port=29500
  for i in 0 1; do
    ip netns exec "lc${i}_$$" env NODE_RANK=$i MASTER_ADDR=10.231.0.1 MASTER_PORT=$port \
      GLOO_SOCKET_IFNAME="lcv${i}_$$" "$bin" nodes "$dir/node$i" &
    pids+=($!)
  done
else
  port=$(( 20000 + RANDOM % 20000 ))
  for i in 0 1; do
    env NODE_RANK=$i MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$bin" nodes "$dir/node$i" &
    pids+=($!)
  done
fi

rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
pids=()
echo "two nodes ($net): $([ $rc = 0 ] && echo passed || echo FAILED)"
exit $rc
