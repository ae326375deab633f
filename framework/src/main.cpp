#include <malloc.h>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // glibc gives each thread that contends for the heap its own arena, up to 8 per core: the worker pool,
  // the plugin-call watchdog's threads and the informers each leave memory freed in their arena, which
  // the others cannot reuse. Two arenas keep that bounded (at 10,000 models it was tens of MB of RSS) and
  // contention low on this 2-thread pool. Set here, in the binary, not in the library or the plugins: the
  // process that embeds them decides its allocator.
  mallopt(M_ARENA_MAX, 2);
  return wva::framework::run_cli(argc, argv);
}
