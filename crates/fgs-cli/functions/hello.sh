# A FunctionGraph function for `fgs local`, run as `sh crates/fgs-cli/functions/hello.sh`
# (no execute bit needed). The event arrives on stdin, the result goes to stdout, stderr
# goes to the log, and a non-zero exit is a function error. The emulator sets
# FGS_FUNCTION_VERSION (and FGS_REQUEST_ID, FGS_FUNCTION_URN, FGS_MEMORY_MB).
event=$(cat)
name=$(printf '%s' "$event" | sed -n 's/.*"name" *: *"\([^"]*\)".*/\1/p')
if [ -z "$name" ]; then
  echo "no name in $event" >&2
  exit 1
fi
echo "saying hello to $name" >&2
printf '{"message":"Hello, %s!","version":"%s"}\n' "$name" "${FGS_FUNCTION_VERSION:-latest}"
