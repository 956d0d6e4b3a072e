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
