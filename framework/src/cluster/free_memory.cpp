#include "cluster/free_memory.h"

#include <dlfcn.h>
#include <malloc.h>

namespace wva::framework {

void release_free_memory() {
  // A C function of gperftools' tcmalloc (gperftools/malloc_extension_c.h): looked up, not linked.
  using Release = void (*)();
  if (void* symbol = ::dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory")) {
    reinterpret_cast<Release>(symbol)();
    // Not glibc's malloc_trim as well: with malloc replaced, it leaves glibc's per-thread arena count
    // inconsistent, and a thread that exits later aborts the process ("__malloc_arena_thread_freeres:
    // a->attached_threads > 0").
    return;
  }
  ::malloc_trim(0);  // glibc's malloc: its arenas
}

}  // namespace wva::framework
