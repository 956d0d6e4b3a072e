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
	slabMask    = 1<<16 - 1 // slabs are 64 KiB, aligned
	// reserveBlocks is how many blocks of each class Reserve allocates:
	// for 16 KiB blocks (3 to a slab) that is 5-6 slabs with 10 free slots.
	reserveBlocks = 16
)

var once sync.Once

// KeepSlabs pins one block in each slab size class, once per process
// (about 700 KiB of address space, of which only the touched pages count
// in RSS). Safe to call from any goroutine, any number of times.
func KeepSlabs() { once.Do(keepSlabs) }

// Reserve holds, until release is called, one block in each size class
// with a free slot beside it, so that a bulk write's transient buffers
// (page splits on B-tree pages in the middle of an index: random keys,
// expression indexes) find room in a slab that stays mapped, even after
// long-lived blocks (the page cache) took the pinned slab's free slots.
// Call it around each transaction of a bulk write.
func Reserve() (release func()) { return reserve() }
