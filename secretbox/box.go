// Package secretbox encrypts channel secrets at rest (AES-256-GCM) with a key
// that comes from the environment, never from the database it protects.
package secretbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pocketbase/pocketbase/tools/security"
)

// EnvKey names the environment variable that holds the secret key.
const EnvKey = "PREGON_SECRET_KEY"

// keyFile is where a generated key is kept when the environment gives none,
// so that `go run . serve` works on a fresh machine. Production installs set
// EnvKey and keep the key out of the data directory (and its backups).
const keyFile = ".secret_key"

// Box seals and opens secrets.
type Box struct {
	key string // exactly 32 bytes
}

// New derives a 32-byte AES key from a passphrase of at least 16 characters.
func New(passphrase string) (*Box, error) {
	if len(strings.TrimSpace(passphrase)) < 16 {
		return nil, fmt.Errorf("%s must be at least 16 characters (32 random characters recommended, e.g. `openssl rand -hex 32`)", EnvKey)
	}
	sum := sha256.Sum256([]byte(passphrase))
	return &Box{key: string(sum[:])}, nil
}

// Seal encrypts plain and returns base64 ciphertext.
func (b *Box) Seal(plain []byte) (string, error) {
	out, err := security.Encrypt(plain, b.key)
	if err != nil {
		return "", fmt.Errorf("encrypting secret: %w", err)
	}
	return out, nil
}

// Open decrypts what Seal produced. A wrong key is reported as such, without
// echoing any of the ciphertext.
func (b *Box) Open(sealed string) ([]byte, error) {
	if sealed == "" {
		return nil, nil
	}
	out, err := security.Decrypt(sealed, b.key)
	if err != nil {
		return nil, errors.New("cannot decrypt channel secrets: was " + EnvKey + " changed since they were saved?")
	}
	return out, nil
}

// KeySource says where Load found the key.
type KeySource string

const (
	FromEnv       KeySource = "environment"
	FromFile      KeySource = "data-dir file"
	FromGenerated KeySource = "generated"
)

// Load returns a Box keyed from EnvKey, or from dataDir/.secret_key, creating
// that file with a random key on first start.
func Load(dataDir string) (*Box, KeySource, error) {
	if v := os.Getenv(EnvKey); v != "" {
		b, err := New(v)
		return b, FromEnv, err
	}
	path := filepath.Join(dataDir, keyFile)
	if raw, err := os.ReadFile(path); err == nil {
		b, err := New(strings.TrimSpace(string(raw)))
		return b, FromFile, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("reading %s: %w", path, err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, "", fmt.Errorf("generating secret key: %w", err)
	}
	key := hex.EncodeToString(buf)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, "", fmt.Errorf("creating data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, "", fmt.Errorf("writing %s: %w", path, err)
	}
	b, err := New(key)
	return b, FromGenerated, err
}
