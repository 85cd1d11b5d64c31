#!/bin/sh
set -e
if command -v systemctl >/dev/null 2>&1; then
	systemctl stop meteragent >/dev/null 2>&1 || true
	systemctl disable meteragent >/dev/null 2>&1 || true
fi
