#!/bin/sh
set -e
if ! getent passwd meteragent >/dev/null; then
	adduser --system --group --home /var/lib/meteragent --no-create-home meteragent
fi
install -d -o meteragent -g meteragent -m 0750 /var/lib/meteragent
if command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
	echo "meteragent installed: edit /etc/meteragent/*.yaml, then: systemctl enable --now meteragent"
fi
