#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# container_run.sh - run one command in a minimal container, made with
# nothing but util-linux: what a container runtime does for an application
# that talks memif to a VPP outside. vpp_container.sh runs the examples in it;
# docs/containers.md lists it. Started by root, as the first process of new
# namespaces:
#
#   unshare --mount --pid --fork --net --ipc --uts --kill-child -- \
#       bash container_run.sh ROOT VOLUME UID:GID [RO_DIR...] -- COMMAND [ARG...]
#
#   ROOT     an empty directory: the container's root file system (a tmpfs)
#            is mounted there, seen only inside the container
#   VOLUME   the host directory that appears read-write at /run/vpp, VPP's
#            socket directory: the only thing the container shares
#   UID:GID  who COMMAND runs as, with no capability and no way to gain one
#   RO_DIR   host directories seen read-only at the same path inside (the
#            program and its libraries when they are not in /usr)
#
# The host's /usr and /etc, read-only, stand for the container image. There
# is no /dev/shm, no hugetlbfs and no /sys inside: memif needs none of them.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
root=$1 volume=$2 user=$3
shift 3
ro=()
while [ "$1" != -- ]; do
	ro+=("$1")
	shift
done
shift

# The root file system, in this mount namespace only: the host never sees
# it, and it goes away with the last process inside.
mount -t tmpfs -o size=1m,mode=0755 container-root "$root"
cd "$root"
mkdir usr etc dev proc tmp run old-root
for l in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$l"; fi
done
# /dev: three harmless devices, and nothing else.
mount -t tmpfs -o size=64k,mode=0755 container-dev dev
for f in null zero urandom; do
	touch "dev/$f"
	mount --bind "/dev/$f" "dev/$f"
done
mount -t proc -o nosuid,nodev,noexec proc proc # this PID namespace's processes
mount -t tmpfs -o size=16m,mode=1777 container-tmp tmp
mount -t tmpfs -o size=1m,mode=0755 container-run run
# The volume.
mkdir run/vpp
mount --bind "$volume" run/vpp
# The image, and the program (after /tmp and /run: it may live below them).
mount --bind -o ro /usr usr
mount --bind -o ro /etc etc
for d in ${ro[@]+"${ro[@]}"}; do
	case $d in /usr | /usr/* | /etc | /etc/*) continue ;; esac
	mkdir -p "./$d"
	mount --bind -o ro "$d" "./$d"
done
hostname memif-container

# Make ROOT the root, and forget the host's.
pivot_root . old-root
cd /
umount -l /old-root
rmdir /old-root
mount -o remount,ro /

# An empty environment; an unprivileged user with no capabilities (bounding
# set included) and no_new_privs; killed if unshare, its parent, dies.
exec env -i PATH=/usr/bin:/bin setpriv --reuid="${user%%:*}" --regid="${user#*:}" \
	--clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs \
	--pdeathsig KILL -- "$@"
