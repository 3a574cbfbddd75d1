#!/usr/bin/env bash
# Runs on each start of the dev container.
#
# Elasticsearch (docker-compose.yml) wants vm.max_map_count >= 262144. The setting belongs to the
# kernel of the VM the Codespace runs on, shared with Docker-in-Docker; the dev container is
# privileged (the docker-in-docker feature needs that), so it can usually raise it. When it cannot,
# say so plainly rather than let Elasticsearch fail later with an mmap error.
set -u

# In a Codespace, every `docker compose` of the terminal applies the Codespaces override (heaps,
# public URLs): COMPOSE_FILE, written once into the shells' startup files. (`capline stack up` sets
# it by itself.) Not in a local dev container: the override refuses to load without CODESPACE_NAME.
if [ "${CODESPACES:-}" = true ]; then
  here=$(pwd)
  line="export COMPOSE_FILE=$here/docker-compose.yml:$here/docker-compose.codespaces.yml # capline: Codespaces override"
  for rc in "$HOME/.bashrc" "$HOME/.zshrc"; do
    [ -f "$rc" ] || continue
    grep -qF '# capline: Codespaces override' "$rc" || printf '%s\n' "$line" >>"$rc"
  done
fi

want=262144
have=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0)
if [ "$have" -ge "$want" ]; then
  exit 0
fi
if sudo -n sysctl -q -w vm.max_map_count="$want" 2>/dev/null; then
  echo "capline: raised vm.max_map_count from $have to $want for Elasticsearch."
else
  echo "capline: WARNING vm.max_map_count is $have; Elasticsearch needs >= $want." >&2
  echo "capline: run 'sudo sysctl -w vm.max_map_count=$want' (see docs/docker.md)." >&2
fi
