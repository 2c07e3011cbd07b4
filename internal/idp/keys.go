package idp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
)

// KeyFile is the signing key's file in Config.KeyDir. It lives outside the
// database so that a database backup or a read-only database user never
// holds what signs tokens.
const KeyFile = "idp-signing-key.pem"

// signingKey is the provider's one ES256 key: small, fast to make on first
// start, and understood by every JOSE library.
type signingKey struct {
	priv *ecdsa.PrivateKey
	id   string
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *signingKey) Key() any                                    { return k.priv }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the verification half, as zitadel's op.Key.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.priv.PublicKey }

// loadOrCreateKey reads the key in dir, making it (mode 0600, in a 0700
// directory) on first start.
func loadOrCreateKey(dir string) (*signingKey, error) {
	if dir == "" {
		return nil, errors.New("idp: no key directory")
	}
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("idp: key directory: %w", err)
		}
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		// O_EXCL: of two servers starting together on one directory,
		// the second reads the first one's key instead of replacing it.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadOrCreateKey(dir)
		}
		if err != nil {
			return nil, fmt.Errorf("idp: signing key: %w", err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			os.Remove(path)
			return nil, fmt.Errorf("idp: signing key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("idp: signing key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("idp: signing key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("idp: signing key %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("idp: signing key %s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("idp: signing key %s: %w", path, err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("idp: signing key %s: want an ECDSA P-256 key", path)
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &signingKey{priv: priv, id: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// cryptoKey is the AES key zitadel seals authorization codes with. It is
// derived from the signing key so that there is one secret file to keep.
func (k *signingKey) cryptoKey() [32]byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k.priv)
	return sha256.Sum256(append([]byte("sharedcare idp code key\x00"), der...))
}
