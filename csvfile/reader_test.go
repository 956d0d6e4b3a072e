package csvfile

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/unicode"
)

func readAll(t *testing.T, data []byte) (Format, []Record) {
	t.Helper()
	head := data
	if len(head) > SniffSize {
		head = head[:SniffSize]
	}
	f, err := Sniff(head)
	if err != nil {
		t.Fatalf("Sniff: %v", err)
	}
	// OneByteReader exercises every buffer boundary.
	r := NewReader(iotest.OneByteReader(strings.NewReader(string(data))), f)
	var out []Record
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return f, out
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		out = append(out, rec)
	}
}

func TestReaderRealWorldFiles(t *testing.T) {
	utf16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String("nombre\ttelefono\r\nJosé\t+52 55 1234 5678\r\n")
	cases := []struct {
		name     string
		data     string
		encoding string
		delim    byte
		want     [][]string
		lines    []int
	}{
		{"utf-8 with BOM, CRLF", "\xEF\xBB\xBFid,first_name\r\nabc,José\r\n", UTF8BOM, ',',
			[][]string{{"id", "first_name"}, {"abc", "José"}}, []int{1, 2}},
		{"Spanish Excel: semicolons, Windows-1252, decimal commas", "nombre;puntos\r\nNu\xf1ez;12,5\r\nPe\xf1a \x80;3\r\n", Windows1252, ';',
			[][]string{{"nombre", "puntos"}, {"Nuñez", "12,5"}, {"Peña €", "3"}}, []int{1, 2, 3}},
		{"quoted fields with newlines, quotes and delimiters", "a,b\n\"line 1\r\nline 2\",\"say \"\"hi\"\", ok\"\nx,y\n", UTF8, ',',
			[][]string{{"a", "b"}, {"line 1\nline 2", `say "hi", ok`}, {"x", "y"}}, []int{1, 2, 4}},
		{"blank lines skipped, line numbers kept", "a,b\n\n1,2\r\n\r\n3,4", UTF8, ',',
			[][]string{{"a", "b"}, {"1", "2"}, {"3", "4"}}, []int{1, 3, 5}},
		{"lazy quotes", "a,b\nsay \"hi\",\"x\"y\n", UTF8, ',',
			[][]string{{"a", "b"}, {`say "hi"`, "xy"}}, []int{1, 2}},
		{"empty fields and a quoted empty line", "a,b,c\n,,\n\"\"\n", UTF8, ',',
			[][]string{{"a", "b", "c"}, {"", "", ""}, {""}}, []int{1, 2, 3}},
		{"old Mac CR line ends", "a;b\r1;2\r", UTF8, ';',
			[][]string{{"a", "b"}, {"1", "2"}}, []int{1, 2}},
		{"tab-delimited UTF-16 (Excel Unicode text)", utf16, UTF16LE, '\t',
			[][]string{{"nombre", "telefono"}, {"José", "+52 55 1234 5678"}}, []int{1, 2}},
		{"Excel's sep= line", "sep=;\r\nphone;name\r\n1;a,b\r\n", UTF8, ';',
			[][]string{{"phone", "name"}, {"1", "a,b"}}, []int{2, 3}},
		{"single column", "phone\n+5215512345678\n", UTF8, ',',
			[][]string{{"phone"}, {"+5215512345678"}}, []int{1, 2}},
		{"mixed file: a Latin-1 row among UTF-8 rows", "n\nJosé\nJos\xe9\n", Windows1252, ',',
			[][]string{{"n"}, {"José"}, {"José"}}, []int{1, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, recs := readAll(t, []byte(c.data))
			if f.Encoding != c.encoding || f.Delimiter != c.delim {
				t.Fatalf("format = %+v, want %s %q", f, c.encoding, c.delim)
			}
			var got [][]string
			var lines []int
			for _, r := range recs {
				got = append(got, r.Fields)
				lines = append(lines, r.Line)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("records = %q, want %q", got, c.want)
			}
			if !reflect.DeepEqual(lines, c.lines) {
				t.Fatalf("lines = %v, want %v", lines, c.lines)
			}
		})
	}
}

func TestReaderUnclosedQuoteAtEnd(t *testing.T) {
	_, recs := readAll(t, []byte("a,b\n1,2\n3,\"never closed\n4,5\n"))
	if len(recs) != 3 || !recs[2].Unclosed || recs[2].Line != 3 || recs[2].Fields[1] != "never closed\n4,5\n" {
		t.Fatalf("got %+v", recs)
	}
	if recs[1].Unclosed {
		t.Fatal("a closed record marked unclosed")
	}
}

func TestReaderStopsOnRunawayRecord(t *testing.T) {
	data := "a,b\n1,\"" + strings.Repeat("x", 3000) + "\n"
	f, _ := Sniff([]byte(data))
	r := NewReader(strings.NewReader(data), f)
	r.MaxRecord = 1024
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Read()
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || !strings.Contains(pe.Msg, "quote") {
		t.Fatalf("err = %v", err)
	}
	if _, err := r.Read(); !errors.As(err, &pe) {
		t.Fatalf("the error must stick, got %v", err)
	}
}

func TestSniffRefusesWhatIsNotCSV(t *testing.T) {
	cases := map[string]string{
		"":                                    "empty",
		"\xEF\xBB\xBF \r\n":                   "empty",
		"PK\x03\x04\x14\x00\x06\x00":          "Excel file",
		"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR": "image (PNG)",
		"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1":    "old Excel",
		"%PDF-1.7\n":                          "PDF",
		"id,name\n\x00\x01\x02\x03":           "binary",
	}
	for data, want := range cases {
		_, err := Sniff([]byte(data))
		var nc *NotCSVError
		if !errors.As(err, &nc) || !strings.Contains(nc.Reason, want) {
			t.Errorf("Sniff(%q) = %v, want a NotCSVError mentioning %q", data, err, want)
		}
	}
}

func TestSniffDelimiterIgnoresDecimalCommas(t *testing.T) {
	f, err := Sniff([]byte("nombre;saldo;ciudad\nAna;12,5;Lima\nLuis;3,25;Cusco\n"))
	if err != nil || f.Delimiter != ';' {
		t.Fatalf("got %+v %v", f, err)
	}
	f, err = Sniff([]byte("name,\"notes; more\"\nAna,\"a;b;c\"\n"))
	if err != nil || f.Delimiter != ',' {
		t.Fatalf("got %+v %v", f, err)
	}
}
