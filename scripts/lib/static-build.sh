# Sourced by scripts/test and .ci/run. One build for everything: the tests and the vivr they run are linked
# statically (+crt-static, target x86_64-unknown-linux-gnu), so the image tests put that same vivr in scratch
# images and no second copy of every dependency is compiled for them. Build scripts and proc-macros are host code
# and stay dynamic; clippy run with the same settings shares them (and the C code build scripts compile).
export CARGO_BUILD_TARGET=x86_64-unknown-linux-gnu
case " ${RUSTFLAGS:-} " in
  *" -C target-feature=+crt-static "*) ;;
  *) export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" ;;
esac
