#!/bin/sh
# Entry point of the image: the first argument picks the process.
set -eu
python=/opt/simplismart/bin/python
command=${1:-api}
[ "$#" -gt 0 ] && shift
case "$command" in
  api) exec "$python" -m simplismart.api serve "$@" ;;
  operator) exec "$python" -m simplismart.operator "$@" ;;
  migrate) exec "$python" -m simplismart.api migrate "$@" ;;
  jwt-secret)
    # jwt-secret FILE: a random signing key, made once; an existing key is kept.
    file=${1:?usage: simplismart jwt-secret FILE}
    if [ -s "$file" ]; then
      echo "simplismart: keeping the JWT secret in $file"
      exit 0
    fi
    umask 077
    "$python" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$file.tmp"
    mv "$file.tmp" "$file"
    echo "simplismart: wrote a new JWT secret to $file"
    ;;
  healthcheck) exec "$python" /usr/local/lib/simplismart/healthcheck.py ;;
  -h | --help | help)
    echo "usage: simplismart {api|operator|migrate|jwt-secret FILE|healthcheck} [ARGS...]"
    ;;
  *) exec "$command" "$@" ;;
esac
