#include "cluster/free_memory.h"

#include <dlfcn.h>
#include <malloc.h>

namespace wva::framework {

void release_free_memory() {
  // A C function of gperftools' tcmalloc (gperftools/malloc_extension_c.h): looked up, not linked.
  using Release = void (*)();
  if (void* symbol = ::dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory")) reinterpret_cast<Release>(symbol)();
  ::malloc_trim(0);  // glibc's arenas (all of the heap when tcmalloc is not linked)
}

}  // namespace wva::framework
