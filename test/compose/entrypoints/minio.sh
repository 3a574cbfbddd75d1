#!/bin/sh
# minio/minio: /usr/bin/docker-entrypoint.sh, reduced. `minio` is prepended unless the first
# argument is `minio` (or there is none); then "$@", quoted (MINIO_USERNAME/MINIO_GROUPNAME unset:
# no user switch).
if [ "$1" != minio ] && [ -n "$1" ]; then set -- minio "$@"; fi
exec "$@"
