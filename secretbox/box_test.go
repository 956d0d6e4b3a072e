package secretbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	b, err := New("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal([]byte(`{"access_token":"EAAG-secret"}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "EAAG") {
		t.Fatalf("ciphertext leaks the plain text: %s", sealed)
	}
	got, err := b.Open(sealed)
	if err != nil || string(got) != `{"access_token":"EAAG-secret"}` {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := New("another key that is long enough!!")
	if _, err := other.Open(sealed); err == nil || strings.Contains(err.Error(), sealed) {
		t.Fatalf("wrong key must fail without echoing ciphertext, got %v", err)
	}
}

func TestShortKeyRejected(t *testing.T) {
	if _, err := New("short"); err == nil || !strings.Contains(err.Error(), EnvKey) {
		t.Fatalf("want an error naming %s, got %v", EnvKey, err)
	}
}

func TestLoadGeneratesThenReusesKeyFile(t *testing.T) {
	t.Setenv(EnvKey, "")
	os.Unsetenv(EnvKey)
	dir := t.TempDir()
	b1, src, err := Load(dir)
	if err != nil || src != FromGenerated {
		t.Fatalf("first Load: %v %v", src, err)
	}
	st, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	sealed, _ := b1.Seal([]byte("x"))
	b2, src, err := Load(dir)
	if err != nil || src != FromFile {
		t.Fatalf("second Load: %v %v", src, err)
	}
	if got, err := b2.Open(sealed); err != nil || string(got) != "x" {
		t.Fatalf("reloaded key cannot open: %v", err)
	}
	t.Setenv(EnvKey, "from-the-environment-0123456789")
	if _, src, _ := Load(dir); src != FromEnv {
		t.Fatalf("env must win, got %v", src)
	}
}
