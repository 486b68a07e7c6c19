#!/bin/bash
# The test bed's stand-in for the Neo4j image's /startup/docker-entrypoint.sh (see
# hack/testenv/README.md, "Node agent"). What it keeps from the real one:
#  - /conf/neo4j.conf is the configuration; every NEO4J_<setting> variable overrides it
#    (NEO4J_ removed, "__" -> "_", "_" -> "."), except the variables the image reads itself;
#  - NEO4J_AUTH=neo4j/<password> sets the initial password (refused: "neo4j", < 8 chars),
#    NEO4J_AUTH=none turns auth off (not supported by the test servers: refused);
#  - Enterprise needs NEO4J_ACCEPT_LICENSE_AGREEMENT=yes|eval, else it stops with exit 1.
# What runs: Community -> the real Neo4j 5.26 test server (strict config validation);
# Enterprise -> a member of the StatefulSet's cluster simulator. Both bind the pod IP
# (N4J_TESTBED_POD_IP, set by the agent): pods here share the host's network namespace, so
# the wildcard listen address of the rendered config would collide between pods.
set -eu
[ "${1:-neo4j}" = neo4j ] || exec "$@"

edition=${NEO4J_EDITION:-community}
ip=${N4J_TESTBED_POD_IP:?the node agent sets the pod IP}
version=${N4J_TESTBED_VERSION:-5.26}

if [ "$edition" = enterprise ]; then
  case ${NEO4J_ACCEPT_LICENSE_AGREEMENT:-} in
    yes | eval) ;;
    *)
      echo "In order to use Neo4j Enterprise Edition you must accept the license agreement." >&2
      echo "To accept the commercial license agreement set the environment variable" >&2
      echo "NEO4J_ACCEPT_LICENSE_AGREEMENT=yes" >&2
      exit 1 ;;
  esac
fi

umask 077
auth=/tmp/neo4j-auth
if [ -n "${NEO4J_AUTH:-}" ]; then
  if [ "$NEO4J_AUTH" = none ]; then
    echo "NEO4J_AUTH=none: the test bed's servers always run with authentication" >&2
    exit 1
  fi
  user=${NEO4J_AUTH%%/*} pw=${NEO4J_AUTH#*/}
  if [ "$user" != neo4j ]; then
    echo "Invalid admin username, it must be neo4j." >&2; exit 1
  fi
  if [ "$pw" = neo4j ]; then
    echo "Invalid value for password. It cannot be 'neo4j', which is the default." >&2; exit 1
  fi
  if [ "${#pw}" -lt 8 ]; then
    echo "Invalid value for password. The minimum password length is 8 characters." >&2; exit 1
  fi
  printf '%s\n' "$pw" >"$auth"
  unset NEO4J_AUTH pw
else
  echo "NEO4J_AUTH is not set: the test bed needs an initial password" >&2; exit 1
fi

conf=/tmp/neo4j.conf
if [ -f /conf/neo4j.conf ]; then cp /conf/neo4j.conf "$conf"; else : >"$conf"; fi
chmod 600 "$conf"
# Settings from the environment replace the same key in the file, as the image does.
while IFS='=' read -r name value; do
  case $name in
    NEO4J_AUTH | NEO4J_ACCEPT_LICENSE_AGREEMENT | NEO4J_PLUGINS | NEO4J_EDITION | NEO4J_HOME | \
      NEO4J_DEBUG | NEO4J_SHA256 | NEO4J_TARBALL | NEO4J_DEPRECATION_WARNING) continue ;;
    NEO4J_*) ;;
    *) continue ;;
  esac
  key=${name#NEO4J_}
  key=$(printf '%s' "$key" | sed 's/__/\x01/g; s/_/./g; s/\x01/_/g')
  awk -v k="$key=" 'index($0, k) != 1' "$conf" >"$conf.new"
  printf '%s=%s\n' "$key" "$value" >>"$conf.new"
  mv "$conf.new" "$conf"
done < <(env)
if [ -n "${NEO4J_PLUGINS:-}" ]; then
  echo "NEO4J_PLUGINS=$NEO4J_PLUGINS: the test bed has no plugin downloads; none installed" >&2
fi

line=5.26
case $version in 20*) line=2025 ;; esac
settings=/tmp/neo4j-settings.txt
# Neo4j's own settings of this version line, plus those of the plugins NEO4J_PLUGINS names
# (a plugin's jar declares them; the test bed installs no jars, so the list stands in).
cp "/opt/testbed/settings/neo4j-settings-$line.txt" "$settings"
while read -r plugin setting; do
  case $plugin in '#'* | '') continue ;; esac
  case ${NEO4J_PLUGINS:-} in *"\"$plugin\""*) printf '%s\n' "$setting" >>"$settings" ;; esac
done </opt/testbed/settings/neo4j-plugin-settings.txt

if [ "$edition" = enterprise ]; then
  args=(member --control /opt/testbed/sim/control.sock --name "${HOSTNAME:?}"
    --bind "$ip:7687" --http "$ip:7474" --data /data --conf "$conf" --password-file "$auth")
  args+=(--settings "$settings")
  exec /opt/testbed/sim-bin/n4j-clustersim "${args[@]}"
fi

exec java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError \
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
  -cp "/opt/testbed/neo4j/classes:/opt/testbed/neo4j/lib/*" TestServer \
  --home /data --bolt "$ip:7687" --http "$ip:7474" --password-file "$auth" --conf "$conf" --initial-password
