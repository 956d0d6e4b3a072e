package contactgen

import (
	"testing"
)

func TestGenerateIsDeterministicAndLoads(t *testing.T) {
	a := NewSource(5).Rows(0, 2000)
	b := NewSource(5).Rows(0, 2000)
	seen := map[any]bool{}
	for i := range a {
		if a[i].Contact["id"] != b[i].Contact["id"] || a[i].Contact["tags"] != b[i].Contact["tags"] {
			t.Fatalf("row %d differs between two sources with the same seed", i)
		}
		if seen[a[i].Contact["id"]] {
			t.Fatalf("duplicate id %v at row %d", a[i].Contact["id"], i)
		}
		seen[a[i].Contact["id"]] = true
	}
	app, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer app.ResetBootstrapState()
	if err := Generate(app, Options{Contacts: 3000, Seed: 9, Batch: 1000}); err != nil {
		t.Fatal(err)
	}
	var contacts, identities int
	app.DB().NewQuery("SELECT COUNT(*) FROM contacts").Row(&contacts)
	app.DB().NewQuery("SELECT COUNT(*) FROM contact_identities").Row(&identities)
	if contacts != 3000 || identities < 3000 {
		t.Fatalf("%d contacts and %d identities, want 3000 and at least one identity each", contacts, identities)
	}
	if again, err := Ensure(app, Options{Contacts: 3000, Seed: 9}); err != nil || again {
		t.Fatalf("Ensure regenerated an existing set: %v %v", again, err)
	}
}

func TestInsertLeavesRowsUntouched(t *testing.T) {
	rows := NewSource(7).Rows(0, 50)
	first := rows[0].Contact["id"]
	for rep := 0; rep < 2; rep++ { // the same rows into two databases
		app, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := Insert(app, rows, true); err != nil {
			t.Fatalf("run %d: %v", rep, err)
		}
		app.ResetBootstrapState()
	}
	if rows[0].Contact["id"] != first {
		t.Fatalf("Insert changed the first row: %v", rows[0].Contact["id"])
	}
}
