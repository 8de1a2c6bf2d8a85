#!/bin/sh
# Managed by the mailstack.sasl_postfix.postfix_source role.
#
# Run by the postfix systemd unit before Postfix starts. Services marked
# chroot=y in master.cf run inside the queue directory and can only read
# what is copied there; Debian's package does the same in its
# configure-instance.sh. Copies the files name resolution, time zone and
# service lookups need, when they changed.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

queue_directory=$(postconf -h queue_directory)
[ -d "$queue_directory" ] || exit 0
umask 022
mkdir -p "$queue_directory/etc"
for file in /etc/localtime /etc/services /etc/resolv.conf /etc/hosts /etc/host.conf /etc/nsswitch.conf; do
    [ -e "$file" ] || continue
    target="$queue_directory$file"
    if ! cmp -s "$file" "$target" 2>/dev/null; then
        cp -L "$file" "$target.tmp.$$"
        chmod 0644 "$target.tmp.$$"
        mv -f "$target.tmp.$$" "$target"
    fi
done
exit 0
