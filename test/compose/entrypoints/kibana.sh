#!/usr/bin/env bash
# Kibana: ENTRYPOINT `tini --`, CMD /usr/local/bin/kibana-docker, reduced. kibana-docker turns each
# variable of its list of settings (upper case, dots as underscores) into `--setting=value`, joins
# them into one string and expands it UNQUOTED before "$@": a value with a space would become two
# arguments. KIBANA_SETTINGS holds the part of that list capline uses.
if [ "$1" != /usr/local/bin/kibana-docker ]; then exec "$@"; fi
shift
longopts=''
for setting in $KIBANA_SETTINGS; do
  var=$(echo "${setting^^}" | tr . _)
  value=${!var}
  if [[ -n $value ]]; then longopts+=" --${setting}=${value}"; fi
done
# shellcheck disable=SC2086 # unquoted on purpose, as in the image
exec kibana ${longopts} "$@"
