#!/usr/bin/env bash
# apache/hadoop (apache/hadoop-runner): /opt/starter.sh behind `dumb-init --`, reduced to what
# decides the program's arguments. set -e; (envtoconf.py writes the *-site.xml files from the
# variables); the NameNode is formatted when ENSURE_NAMENODE_DIR is set and is not a directory yet,
# with `-clusterid` when ENSURE_NAMENODE_CLUSTERID is set (unquoted); then `$@` UNQUOTED and without
# exec: every argument is split on whitespace and glob-expanded again before it runs.
set -e
if [ -n "$ENSURE_NAMENODE_DIR" ] && [ ! -d "$ENSURE_NAMENODE_DIR" ]; then
  opts=${ENSURE_NAMENODE_CLUSTERID:+-clusterid $ENSURE_NAMENODE_CLUSTERID}
  # shellcheck disable=SC2086 # unquoted on purpose, as in the image
  hdfs namenode -format -force $opts
fi
# shellcheck disable=SC2068 # unquoted on purpose, as in the image
$@
