#!/usr/bin/env bash
# kafka-local.sh — a real single-node Apache Kafka broker (KRaft, combined broker+controller) on
# 127.0.0.1:${KAFKA_PORT:-9092}, without Docker, built from Maven Central jars.
#
#   scripts/kafka-local.sh fetch    build the classpath folder (only step that needs the network)
#   scripts/kafka-local.sh start    fetch if needed, format storage if needed, start, wait for the port
#   scripts/kafka-local.sh stop     SIGTERM, up to 30 s, then SIGKILL
#   scripts/kafka-local.sh status   prints running/stopped; exit 0 when running, 3 when stopped
#   scripts/kafka-local.sh reset    stop + wipe the data dir (next start formats afresh)
#
# Environment:
#   KAFKA_VERSION      default below; 3.9.x uses reload4j logging, 4.x uses log4j2
#   KAFKA_PORT         client port (default 9092); the controller listens on KAFKA_PORT+1
#   KAFKA_FAST_START   1 (default) adds -XX:TieredStopAtLevel=1 (quick start-up); 0 for benchmarks
#   KAFKA_JVM_OPTS     extra JVM options, appended
#   KAFKA_START_TIMEOUT seconds to wait for the port on start (default 90)
#   RECUR_KAFKA_CACHE  classpath cache (default $HOME/.cache/recur/kafka-<version>; jars go to ./libs)
#   RECUR_KAFKA_HOME   state dir: config, data, logs, pid file (default $PWD/.cache/kafka)
#
# Needs: bash, java (17+ for Kafka 4.x), mvn (first fetch only, plus ~/.m2 reuse afterwards).
#
# Version choice (verified here with kafkajs 2.2.4 and scripts/kafka-smoke.mjs):
#   4.1.1 (default): kafkajs negotiates its API versions with the broker, and none of the versions
#   it picks was removed by KIP-896 (Kafka 4.0): topic create/delete, produce, fetch, consumer group
#   join/sync/heartbeat, manual offset commit/fetch all pass, and so does kcat. 4.3.1 and 4.4.0 pass
#   the same smoke test; 3.9.1 too (KAFKA_VERSION=3.9.1 switches to reload4j logging), so no fallback
#   to 3.9 was needed. 4.1.1 is the line the project's notes were written against.
set -euo pipefail

DEFAULT_KAFKA_VERSION="4.1.1"
KAFKA_VERSION="${KAFKA_VERSION:-$DEFAULT_KAFKA_VERSION}"
SCALA_BINARY="2.13"
KAFKA_PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="$((KAFKA_PORT + 1))"
KAFKA_HOST="127.0.0.1"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT=30

CACHE_DIR="${RECUR_KAFKA_CACHE:-$HOME/.cache/recur/kafka-$KAFKA_VERSION}"
LIBS_DIR="$CACHE_DIR/libs"
LIBS_MARKER="$LIBS_DIR/.complete"

STATE_DIR="${RECUR_KAFKA_HOME:-$PWD/.cache/kafka}"
DATA_DIR="$STATE_DIR/data"
LOG_DIR="$STATE_DIR/logs"
CONF_DIR="$STATE_DIR/config"
PID_FILE="$STATE_DIR/kafka.pid"
CLUSTER_ID_FILE="$STATE_DIR/cluster.id"
SERVER_PROPS="$CONF_DIR/server.properties"

# Logging backends: Kafka declares them compile-only, the release tarball adds them separately.
LOG4J2_VERSION="2.24.3"
SLF4J_VERSION="1.7.36"
RELOAD4J_VERSION="1.2.25"

log() { printf 'kafka-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

kafka_major() { printf '%s' "${KAFKA_VERSION%%.*}"; }

uses_log4j2() { [ "$(kafka_major)" -ge 4 ]; }

log_config_file() {
  if uses_log4j2; then printf '%s' "$CONF_DIR/log4j2.properties"; else printf '%s' "$CONF_DIR/log4j.properties"; fi
}

port_open() {
  # Bash's /dev/tcp; `timeout` guards against a connect that hangs.
  # shellcheck disable=SC2016  # $1/$2 are meant for the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

read_pid() {
  local pid=""
  if [ -f "$PID_FILE" ]; then
    pid="$(tr -dc '0-9' <"$PID_FILE")"
  fi
  printf '%s' "$pid"
}

# True when the pid in the pid file is alive and is our broker (guards against pid reuse).
pid_alive() {
  local pid
  pid="$(read_pid)"
  [ -n "$pid" ] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  fi
  return 0
}

require_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"
}

# ---------------------------------------------------------------- fetch

write_pom() {
  local pom="$1" logging_deps
  if uses_log4j2; then
    logging_deps="
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J2_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J2_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J2_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>"
  else
    logging_deps="
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>$RELOAD4J_VERSION</version></dependency>"
  fi
  cat >"$pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.recur</groupId>
  <artifactId>kafka-local-libs</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_BINARY</artifactId><version>$KAFKA_VERSION</version></dependency>$logging_deps
  </dependencies>
</project>
EOF
}

libs_ready() {
  [ -f "$LIBS_MARKER" ] && [ "$(cat "$LIBS_MARKER")" = "$KAFKA_VERSION" ]
}

cmd_fetch() {
  if libs_ready; then
    log "classpath for Kafka $KAFKA_VERSION already in $LIBS_DIR"
    return 0
  fi
  require_cmd mvn "needed once to download the Kafka jars; apt-get install maven"
  mkdir -p "$CACHE_DIR"
  local work tmp_libs
  work="$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")"
  tmp_libs="$work/libs"
  # shellcheck disable=SC2064  # expand now: the trap must remove this very dir
  trap "rm -rf '$work'" EXIT
  write_pom "$work/pom.xml"
  local -a mvn_args=(-B -q -f "$work/pom.xml"
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies
    -DincludeScope=runtime -Dmdep.prependGroupId=true "-DoutputDirectory=$tmp_libs")
  log "building classpath for Kafka $KAFKA_VERSION into $LIBS_DIR"
  # Offline first: once ~/.m2 has the jars, a re-fetch needs no network.
  if ! mvn -o "${mvn_args[@]}" >"$work/mvn-offline.log" 2>&1; then
    rm -rf "$tmp_libs"
    if ! mvn "${mvn_args[@]}" >"$work/mvn.log" 2>&1; then
      tail -n 40 "$work/mvn.log" >&2
      die "maven could not resolve org.apache.kafka:kafka_$SCALA_BINARY:$KAFKA_VERSION"
    fi
  fi
  ls "$tmp_libs"/org.apache.kafka.kafka_"$SCALA_BINARY"-*.jar >/dev/null 2>&1 \
    || die "no kafka_$SCALA_BINARY jar in the resolved classpath"
  printf '%s' "$KAFKA_VERSION" >"$tmp_libs/.complete"
  rm -rf "$LIBS_DIR"
  mv "$tmp_libs" "$LIBS_DIR"
  rm -rf "$work"
  trap - EXIT
  log "$(find "$LIBS_DIR" -name '*.jar' | wc -l) jars in $LIBS_DIR"
}

# ---------------------------------------------------------------- config

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR" "$CONF_DIR"
  cat >"$SERVER_PROPS" <<EOF
# Generated by scripts/kafka-local.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=33554432
EOF

  if uses_log4j2; then
    cat >"$CONF_DIR/log4j2.properties" <<EOF
# Generated by scripts/kafka-local.sh
status = warn
name = recur-kafka-local
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $LOG_DIR/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  else
    cat >"$CONF_DIR/log4j.properties" <<EOF
# Generated by scripts/kafka-local.sh
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$LOG_DIR/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
EOF
  fi
}

java_opts() {
  local -a opts=(-Xms256m -Xmx512m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true)
  if [ "${KAFKA_FAST_START:-1}" != "0" ]; then
    opts+=(-XX:TieredStopAtLevel=1)
  fi
  if uses_log4j2; then
    opts+=("-Dlog4j2.configurationFile=$(log_config_file)")
  else
    opts+=("-Dlog4j.configuration=file:$(log_config_file)")
  fi
  opts+=("-Dkafka.logs.dir=$LOG_DIR")
  printf '%s\n' "${opts[@]}"
}

format_storage() {
  if [ -f "$DATA_DIR/meta.properties" ]; then
    return 0
  fi
  local cluster_id
  if [ -s "$CLUSTER_ID_FILE" ]; then
    cluster_id="$(cat "$CLUSTER_ID_FILE")"
  else
    cluster_id="$(java -cp "$LIBS_DIR/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    [ -n "$cluster_id" ] || die "StorageTool random-uuid printed nothing"
    printf '%s\n' "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  log "formatting $DATA_DIR (cluster id $cluster_id)"
  local -a opts
  mapfile -t opts < <(java_opts)
  java "${opts[@]}" -cp "$LIBS_DIR/*" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$SERVER_PROPS" --ignore-formatted >"$LOG_DIR/format.log" 2>&1 \
    || { cat "$LOG_DIR/format.log" >&2; die "storage format failed"; }
}

# ---------------------------------------------------------------- start / stop / status

print_log_tail() {
  local f
  for f in "$LOG_DIR/kafka.out" "$LOG_DIR/server.log"; do
    if [ -s "$f" ]; then
      log "---- tail of $f"
      tail -n 40 "$f" >&2
    fi
  done
}

wait_ready() {
  local pid="$1" waited=0
  while ! port_open "$KAFKA_HOST" "$KAFKA_PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker process $pid exited before $KAFKA_HOST:$KAFKA_PORT opened"
      rm -f "$PID_FILE"
      print_log_tail
      return 1
    fi
    if [ "$waited" -ge "$START_TIMEOUT" ]; then
      log "timed out after ${START_TIMEOUT}s waiting for $KAFKA_HOST:$KAFKA_PORT (pid $pid left running; 'stop' ends it)"
      print_log_tail
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  # The port answers, but is it ours? Another process may have taken it while the broker started and died.
  if ! kill -0 "$pid" 2>/dev/null; then
    log "$KAFKA_HOST:$KAFKA_PORT answers, but broker process $pid has exited"
    rm -f "$PID_FILE"
    print_log_tail
    return 1
  fi
}

cmd_start() {
  if pid_alive; then
    local pid
    pid="$(read_pid)"
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      log "already running (pid $pid) on $KAFKA_HOST:$KAFKA_PORT"
      return 0
    fi
    log "pid $pid is alive but $KAFKA_HOST:$KAFKA_PORT is not open yet; waiting"
    wait_ready "$pid" || exit 1
    log "ready on $KAFKA_HOST:$KAFKA_PORT (pid $pid)"
    return 0
  fi
  rm -f "$PID_FILE"
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    die "$KAFKA_HOST:$KAFKA_PORT is already in use by another process (not ours: no live pid in $PID_FILE)"
  fi
  if port_open "$KAFKA_HOST" "$CONTROLLER_PORT"; then
    die "controller port $KAFKA_HOST:$CONTROLLER_PORT is already in use"
  fi
  require_cmd java "Kafka 4.x needs Java 17+; apt-get install openjdk-17-jre-headless"
  cmd_fetch
  write_config
  format_storage

  local -a opts
  mapfile -t opts < <(java_opts)
  if [ -n "${KAFKA_JVM_OPTS:-}" ]; then
    local -a extra
    read -r -a extra <<<"$KAFKA_JVM_OPTS"
    opts+=("${extra[@]}")
  fi
  # Keep one previous run's logs, so a failure's log tail shows only this run.
  local f
  for f in kafka.out server.log; do
    if [ -f "$LOG_DIR/$f" ]; then mv -f "$LOG_DIR/$f" "$LOG_DIR/$f.prev"; fi
  done
  log "starting Kafka $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT (state in $STATE_DIR)"
  # setsid: own session, so the broker outlives the calling shell and its Ctrl-C.
  # In a non-interactive shell the background job is not a group leader, so setsid
  # execs in place and $! is the java pid.
  setsid java "${opts[@]}" -cp "$LIBS_DIR/*" kafka.Kafka "$SERVER_PROPS" \
    </dev/null >"$LOG_DIR/kafka.out" 2>&1 &
  local pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  local t0=$SECONDS
  wait_ready "$pid" || exit 1
  log "ready on $KAFKA_HOST:$KAFKA_PORT (pid $pid, $((SECONDS - t0))s)"
}

cmd_stop() {
  if ! pid_alive; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  local pid waited=0
  pid="$(read_pid)"
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge "$STOP_TIMEOUT" ]; then
      log "still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  if pid_alive; then
    local pid
    pid="$(read_pid)"
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      echo "running (pid $pid, $KAFKA_HOST:$KAFKA_PORT, Kafka $KAFKA_VERSION)"
    else
      echo "running (pid $pid, starting: $KAFKA_HOST:$KAFKA_PORT not open yet)"
    fi
    return 0
  fi
  echo "stopped"
  return 3
}

cmd_reset() {
  cmd_stop
  rm -rf "$DATA_DIR" "$CLUSTER_ID_FILE"
  log "wiped $DATA_DIR"
}

usage() {
  echo "usage: $0 start|stop|status|fetch|reset" >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  case "$1" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    *) usage ;;
  esac
}

main "$@"
