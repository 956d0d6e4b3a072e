// Package sqlitemem keeps modernc's C allocator from unmapping and mapping
// memory again on SQLite's hot paths.
//
// modernc.org/sqlite allocates through modernc.org/libc, whose allocator
// (modernc.org/memory) serves blocks up to 16 KiB from 64 KiB slabs, one
// size class per slab, and unmaps a slab as soon as its last block is
// freed. SQLite's write path allocates and frees a few-KiB scratch buffer
// on every B-tree page split and a chunk per page of a statement journal,
// so a bulk write maps a slab (mmap, an munmap to align it, page faults on
// first touch) and unmaps it again thousands of times a second: 15-20% of a
// bulk import's CPU in pprof (see BENCHMARKS.md). One block held forever in
// each size class keeps one slab of each class mapped, so those buffers
// reuse it.
package sqlitemem

import "sync"

// slabClasses are the allocator's size classes served from slabs: 2^4 to
// 2^14 bytes (larger blocks get a mapping of their own).
const (
	minClassLog = 4
	maxClassLog = 14
)

var once sync.Once

// KeepSlabs pins one block in each slab size class, once per process
// (about 700 KiB of address space, of which only the touched pages count
// in RSS). Safe to call from any goroutine, any number of times.
func KeepSlabs() { once.Do(keepSlabs) }
