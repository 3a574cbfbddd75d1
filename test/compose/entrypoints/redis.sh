#!/bin/sh
# redis: docker-entrypoint.sh, reduced. redis-server is prepended to a first argument starting with
# `-` or ending in `.conf`; as root, the script re-runs itself as `redis` through gosu (after
# chowning the data folder); then `exec "$@"`, quoted.
set -e
case "$1" in -* | *.conf) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then exec gosu redis "$0" "$@"; fi
exec "$@"
