//go:build linux

package sqlitemem

import (
	"testing"

	"modernc.org/libc"
)

// The package relies on modernc's allocator serving each size class up to
// 16 KiB from 64 KiB-aligned slabs of several blocks; if a new version of
// modernc.org/memory changes that, pinning and reserving are moot and this
// says so.
func TestAllocatorServesClassesFromSharedSlabs(t *testing.T) {
	tls := libc.NewTLS()
	defer tls.Close()
	for log := minClassLog; log <= maxClassLog; log++ {
		var ps [4]uintptr
		shared := false
		for i := range ps {
			ps[i] = libc.Xmalloc(tls, libc.Tsize_t(1)<<log)
			for _, q := range ps[:i] {
				shared = shared || q&^slabMask == ps[i]&^slabMask
			}
		}
		for _, p := range ps {
			libc.Xfree(tls, p)
		}
		if !shared {
			t.Fatalf("four %d-byte blocks came from four different 64 KiB slabs: modernc's allocator changed", 1<<log)
		}
	}
}
