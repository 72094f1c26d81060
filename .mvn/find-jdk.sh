# Sourced by ./mvnw before it starts Maven: Adamant needs a JDK 25 or newer (the Vector API
# incubator and FFM as final), and Maven itself must run on it, because the jar plugin re-reads our
# module descriptors (class file version 69) with the running JDK's jar tool. Where JAVA_HOME (or
# the java on PATH) is older, look for a JDK 25+ in the usual places and use it; where there is
# none, stop with a message that says what to install.
adamant_java_feature() {
  # Prints the feature release of the JDK at $1 (25 for "25.0.1"), or 0.
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || { echo 0; return; }
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1 | grep . || echo 0
}
adamant_find_jdk() {
  if [ -n "${JAVA_HOME-}" ] && [ "$(adamant_java_feature "$JAVA_HOME")" -ge 25 ]; then
    return 0
  fi
  if [ -z "${JAVA_HOME-}" ] && command -v java >/dev/null 2>&1; then
    path_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    if [ "$(adamant_java_feature "$path_home")" -ge 25 ]; then
      JAVA_HOME=$path_home; export JAVA_HOME; return 0
    fi
  fi
  set +f  # mvnw runs with globbing off
  for candidate in /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.jdks/* "$HOME"/.sdkman/candidates/java/* \
                   /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$candidate" ] || continue
    if [ "$(adamant_java_feature "$candidate")" -ge 25 ]; then
      [ "${MVNW_VERBOSE-}" = true ] && echo "[adamant] using the JDK at $candidate" >&2
      JAVA_HOME=$candidate; export JAVA_HOME; set -f; return 0
    fi
  done
  set -f
  echo "Adamant needs a JDK 25 or newer, and found none (JAVA_HOME=${JAVA_HOME-unset}; searched /usr/lib/jvm," >&2
  echo "/opt/java, ~/.jdks, ~/.sdkman). Install one (for example Temurin 25: apt-get install temurin-25-jdk," >&2
  echo "or sdk install java 25-tem) or set JAVA_HOME to it." >&2
  exit 1
}
adamant_find_jdk
