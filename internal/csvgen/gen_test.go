package csvgen

import (
	"bytes"
	"strings"
	"testing"

	"pregon/contacts"
	"pregon/csvfile"
)

func TestWriteIsDeterministicAndValid(t *testing.T) {
	var a, b bytes.Buffer
	if err := Write(&a, 2000, 7); err != nil {
		t.Fatal(err)
	}
	Write(&b, 2000, 7)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed, different files")
	}
	f, err := csvfile.Sniff(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r := csvfile.NewReader(bytes.NewReader(a.Bytes()), f)
	hdr, _ := r.Read()
	if strings.Join(hdr.Fields, ",") != Header {
		t.Fatalf("header %q", hdr.Fields)
	}
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		rec, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		p, err := contacts.NormalizePhone(rec.Fields[0], "MX")
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if seen[p] {
			t.Fatalf("row %d: phone %s twice", i, p)
		}
		seen[p] = true
	}
}
