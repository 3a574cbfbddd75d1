#!/usr/bin/env bash
# Elasticsearch: /usr/local/bin/docker-entrypoint.sh behind `tini --`, reduced. A first argument
# `eswrapper` (the CMD) or `.../elasticsearch` is dropped and the rest goes to bin/elasticsearch,
# quoted; any other command is exec'd as it is.
set -e
if [[ "$1" == eswrapper || "$(basename "$1")" == elasticsearch ]]; then
  set -- "${@:2}"
else
  exec "$@"
fi
exec elasticsearch "$@"
