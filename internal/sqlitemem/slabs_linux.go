//go:build linux

package sqlitemem

import "modernc.org/libc"

func keepSlabs() {
	tls := libc.NewTLS()
	defer tls.Close()
	for log := minClassLog; log <= maxClassLog; log++ {
		// Never freed: that is the point.
		libc.Xmalloc(tls, libc.Tsize_t(1)<<log)
	}
}

func reserve() func() {
	tls := libc.NewTLS()
	var held []uintptr
	for log := minClassLog; log <= maxClassLog; log++ {
		size := libc.Tsize_t(1) << log
		// reserveBlocks blocks of the class, in however many slabs: one per
		// slab is held, the others freed, so each of those slabs keeps free
		// slots and stays mapped. Prepared statements take some of those
		// slots for the batch; page splits find the others.
		var got [reserveBlocks]uintptr
		for i := range got {
			got[i] = libc.Xmalloc(tls, size)
		}
		seen := map[uintptr]bool{}
		for _, p := range got {
			if slab := p &^ slabMask; !seen[slab] {
				seen[slab] = true
				held = append(held, p)
			} else {
				libc.Xfree(tls, p)
			}
		}
	}
	return func() {
		for _, p := range held {
			libc.Xfree(tls, p)
		}
		tls.Close()
	}
}
