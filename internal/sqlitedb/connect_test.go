package sqlitedb

import (
	"path/filepath"
	"testing"
)

func TestConnectKeepsPocketBasePragmasAndMaps(t *testing.T) {
	db, err := Connect(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "busy_timeout": "10000", "synchronous": "1", "foreign_keys": "1",
		"cache_size": "-32000", "mmap_size": "2147418112",
	} {
		var got string
		if err := db.NewQuery("PRAGMA " + pragma).Row(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}
