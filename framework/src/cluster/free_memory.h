// Handing freed memory back to the system after a burst of short-lived allocations (a list's pages parsed
// and dropped), so the resident size follows what is kept, with whichever allocator `wva` runs on.
#pragma once

namespace wva::framework {

// tcmalloc (linked by default): MallocExtension_ReleaseFreeMemory, found at run time so nothing depends
// on it being linked; glibc's malloc: malloc_trim. Costs a few milliseconds: call it after a burst, not
// per allocation.
void release_free_memory();

}  // namespace wva::framework
