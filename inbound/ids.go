package inbound

import (
	"crypto/rand"
	"strconv"
	"strings"
	"time"
)

// rowID returns a record id (15 characters of [a-z0-9], like PocketBase's)
// that sorts by time: 10 base-36 digits of Unix microseconds, then 5 random
// ones. Random ids put every insert on a random page of the primary-key
// index, so each group commit dirtied (and wrote to the WAL) about one page
// per row; time-ordered ids append, and the purge finds old rows by id.
func rowID(t time.Time) string {
	ts := strconv.FormatInt(t.UnixMicro(), 36)
	if len(ts) < 10 {
		ts = strings.Repeat("0", 10-len(ts)) + ts
	}
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var r [5]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b := []byte(ts[len(ts)-10:])
	for _, x := range r {
		b = append(b, digits[int(x)%len(digits)])
	}
	return string(b)
}

// idBefore is the smallest id rowID can give at t: ids below it are older.
func idBefore(t time.Time) string {
	return rowID(t)[:10]
}
