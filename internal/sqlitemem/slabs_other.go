//go:build !linux

package sqlitemem

// keepSlabs does nothing where the allocator's layout was not checked.
func keepSlabs() {}

func reserve() func() { return func() {} }
