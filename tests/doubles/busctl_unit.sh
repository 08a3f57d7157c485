#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# busctl_unit.sh - poke the mocked systemd/logind started by tests/doubles/mockbus.py.
#
#   busctl_unit.sh ADDRESS start|stop|restart UNIT      -> prints the job path
#   busctl_unit.sh ADDRESS state UNIT                   -> prints ActiveState (e.g. active)
#   busctl_unit.sh ADDRESS substate UNIT                -> prints SubState (e.g. running)
#   busctl_unit.sh ADDRESS mainpid UNIT                 -> prints MainPID
#   busctl_unit.sh ADDRESS path UNIT                    -> prints the unit object path (GetUnit)
#   busctl_unit.sh ADDRESS set-state UNIT ACTIVE SUB    -> force e.g. "failed failed" (a crash)
#   busctl_unit.sh ADDRESS job-result start|stop|restart UNIT done|failed|timeout|hang   (sticky until set to done)
#   busctl_unit.sh ADDRESS reboot-calls                 -> prints how many times logind Reboot was called
#
# ADDRESS is the bus address (DIR/bus.address of mockbus.py), e.g. unix:path=/tmp/x/bus,guid=...
# Equivalent dbus-send for stop:
#   dbus-send --bus=ADDRESS --print-reply --dest=org.freedesktop.systemd1 /org/freedesktop/systemd1 \
#       org.freedesktop.systemd1.Manager.StopUnit string:cassandra.service string:replace
set -euo pipefail

usage() { sed -n '3,16p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
addr=$1 verb=$2
shift 2
bc() { timeout 10 busctl --address="$addr" "$@"; }
sd=org.freedesktop.systemd1
mgr=/org/freedesktop/systemd1

unit_path() {
	bc call "$sd" "$mgr" org.freedesktop.systemd1.Manager GetUnit s "$1" | sed -e 's/^o "//' -e 's/"$//'
}
prop() { # UNIT IFACE PROP -> value without the type letter and quotes
	bc get-property "$sd" "$(unit_path "$1")" "$2" "$3" | sed -e 's/^[a-z] //' -e 's/^"//' -e 's/"$//'
}

case $verb in
start | stop | restart)
	[ $# -eq 1 ] || usage
	method=$(echo "${verb:0:1}" | tr a-z A-Z)${verb:1}Unit
	bc call "$sd" "$mgr" org.freedesktop.systemd1.Manager "$method" ss "$1" replace | sed -e 's/^o "//' -e 's/"$//'
	;;
state) [ $# -eq 1 ] || usage; prop "$1" org.freedesktop.systemd1.Unit ActiveState ;;
substate) [ $# -eq 1 ] || usage; prop "$1" org.freedesktop.systemd1.Unit SubState ;;
mainpid) [ $# -eq 1 ] || usage; prop "$1" org.freedesktop.systemd1.Service MainPID ;;
path) [ $# -eq 1 ] || usage; unit_path "$1" ;;
set-state)
	[ $# -eq 3 ] || usage
	bc call "$sd" "$(unit_path "$1")" org.freedesktop.DBus.Mock UpdateProperties 'sa{sv}' \
		org.freedesktop.systemd1.Unit 2 ActiveState s "$2" SubState s "$3"
	;;
job-result)
	[ $# -eq 3 ] || usage
	bc call "$sd" "$mgr" org.freedesktop.DBus.Mock SetJobResult sss "$2" "$1" "$3"
	;;
reboot-calls)
	# a(tav) N ...  -> N
	bc call org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.DBus.Mock GetMethodCalls s Reboot |
		awk '{print $2}'
	;;
*) usage ;;
esac
