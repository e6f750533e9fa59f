#!/bin/sh
# Entrypoint helper for the Asterisk container: copy the shipped configuration
# (mounted read-only at /etc/asterisk-hotline) into /etc/asterisk, filling in only the
# secrets from the environment (dialplan ${VARIABLES} are left alone), then start Asterisk.
set -eu
for f in /etc/asterisk-hotline/*.conf; do
  envsubst '${AMI_SECRET} ${POSTGRES_PASSWORD} ${TRUNK_SECRET} ${AGENT_SECRET_8001} ${AGENT_SECRET_8002} ${AGENT_SECRET_8003}' \
    < "$f" > "/etc/asterisk/$(basename "$f")"
done
# The survey prompts (compose service `prompts`), where Playback(hotline/...) looks for them.
if [ -d /etc/asterisk-hotline-sounds/hotline ]; then
  ln -sfn /etc/asterisk-hotline-sounds/hotline /var/lib/asterisk/sounds/hotline
fi
exec asterisk -f -U asterisk -G asterisk -vvv
