#!/bin/sh
# capline:local (the Dockerfile): ENTRYPOINT ["node", "bin/capline.mjs"] in exec form, so no shell
# at all: each item of the command is one argument of node. (`init: true` puts Docker's tini in
# front, which passes argv unchanged.)
exec node bin/capline.mjs "$@"
