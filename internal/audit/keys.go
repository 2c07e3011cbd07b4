package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The key files in a key directory. The private key never enters the
// database: whoever can rewrite the log cannot also re-sign it.
const (
	PrivateKeyFile = "audit-ed25519.key"
	PublicKeyFile  = "audit-ed25519.pub"
)

// LoadKey reads the checkpoint signing key from dir, generating it (and
// dir, mode 0700) on first use: the private key with mode 0600, the public
// key beside it for verifiers. A public key without its private key is an
// error, not a reason to make a new pair: checkpoints already signed would
// then no longer verify.
func LoadKey(dir string) (ed25519.PrivateKey, error) {
	priv := filepath.Join(dir, PrivateKeyFile)
	key, err := readPrivate(priv)
	if err == nil {
		return key, writePublic(dir, key)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, PublicKeyFile)); err == nil {
		// Perhaps a process starting beside us has just written both.
		if key, err := readPrivate(priv); err == nil {
			return key, nil
		}
		return nil, fmt.Errorf("audit key: %s exists but %s does not; restore the private key rather than make a new one", PublicKeyFile, PrivateKeyFile)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	// O_EXCL: of two processes starting together on one directory, one
	// writes the key and the other reads it.
	if err := writeNew(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if key, err = readPrivate(priv); err != nil {
			return nil, err
		}
	}
	return key, writePublic(dir, key)
}

func readPrivate(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("audit key: %w", err)
	}
	return parsePrivate(b, path)
}

// writePublic writes the public key beside the private one unless it is
// there already (derived, so a lost one is simply written again).
func writePublic(dir string, key ed25519.PrivateKey) error {
	path := filepath.Join(dir, PublicKeyFile)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	err = writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

// writeNew writes a file that must not exist yet, synced before it counts.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("audit key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("audit key: %w", err)
	}
	return f.Close()
}

func parsePrivate(b []byte, path string) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit key: %s is not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit key: %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit key: %s is not an Ed25519 key", path)
	}
	return key, nil
}

// LoadPublicKey reads the public key from dir: all a verifier needs.
func LoadPublicKey(dir string) (ed25519.PublicKey, error) {
	path := filepath.Join(dir, PublicKeyFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit public key: %w", err)
	}
	return ParsePublicKey(b)
}

// ParsePublicKey parses a PEM "PUBLIC KEY" holding an Ed25519 key.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("audit public key: not a PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("audit public key: not an Ed25519 key")
	}
	return pub, nil
}
