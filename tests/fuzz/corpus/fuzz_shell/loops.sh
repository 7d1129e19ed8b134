for f in $(find . -name "*.c"); do
  gcc -Wall -c "$f" -o "${f%.c}.o" || exit 1
done
if [[ -f Makefile && $(id -u) -ne 0 ]]; then make -j"$(nproc)"; elif [ -x ./build.sh ]; then ./build.sh; else echo none >&2; fi
