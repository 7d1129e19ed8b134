case "$1" in
  start|run) exec ./server --port=8080 ;;
  (stop) kill "$(cat /run/srv.pid)" ;;&
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
