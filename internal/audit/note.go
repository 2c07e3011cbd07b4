package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A Checkpoint is the log's state the server signs: the Merkle root over
// the first Size entries, the hash chain's head after them, and when.
//
// Its text is a C2SP tlog-checkpoint in a C2SP signed note, so tools that
// read Go's checksum database and Sigsum notes can read it too:
//
//	<origin>
//	<size>
//	<base64 Merkle root>
//	chain <base64 chain head>
//	time <RFC 3339 UTC>
//
//	— <origin> <base64(key hash[4] || Ed25519 signature)>
//
// The signature covers every byte before the blank line, newlines
// included; the key hash is the first four bytes of
// SHA-256(origin || "\n" || 0x01 || public key).
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
	Chain  []byte
	Time   time.Time
}

// sigPrefix starts each signature line: an em dash and a space.
const sigPrefix = "\u2014 "

// body is the signed text.
func (c *Checkpoint) body() string {
	var b strings.Builder
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root))
	b.WriteString("\nchain ")
	b.WriteString(base64.StdEncoding.EncodeToString(c.Chain))
	b.WriteString("\ntime ")
	b.WriteString(c.Time.UTC().Format(time.RFC3339Nano))
	b.WriteByte('\n')
	return b.String()
}

// keyHash identifies an Ed25519 key in a signed note.
func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', 0x01})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Sign returns the checkpoint as a signed note.
func (c *Checkpoint) Sign(key ed25519.PrivateKey) string {
	body := c.body()
	sig := ed25519.Sign(key, []byte(body))
	pub := key.Public().(ed25519.PublicKey)
	blob := binary.BigEndian.AppendUint32(nil, keyHash(c.Origin, pub))
	blob = append(blob, sig...)
	return body + "\n" + sigPrefix + c.Origin + " " + base64.StdEncoding.EncodeToString(blob) + "\n"
}

// ErrBadSignature is returned by OpenNote when no signature on the note
// verifies with the key.
var ErrBadSignature = errors.New("audit: checkpoint signature does not verify")

// OpenNote parses a signed checkpoint and verifies its signature with pub.
// A note that parses but is not signed by pub is returned with
// ErrBadSignature.
func OpenNote(note string, pub ed25519.PublicKey) (*Checkpoint, error) {
	c, sigs, err := ParseNote(note)
	if err != nil {
		return nil, err
	}
	body := note[:len(c.body())]
	want := keyHash(c.Origin, pub)
	for _, s := range sigs {
		if s.name == c.Origin && s.hash == want && ed25519.Verify(pub, []byte(body), s.sig) {
			return c, nil
		}
	}
	return c, ErrBadSignature
}

type noteSig struct {
	name string
	hash uint32
	sig  []byte
}

// ParseNote parses a signed checkpoint without verifying it. It is strict:
// a note it accepts is exactly what Sign would write for the checkpoint,
// plus any signature lines.
func ParseNote(note string) (*Checkpoint, []noteSig, error) {
	bad := func(why string) (*Checkpoint, []noteSig, error) {
		return nil, nil, fmt.Errorf("audit: malformed checkpoint: %s", why)
	}
	body, sigText, ok := strings.Cut(note, "\n\n")
	if !ok {
		return bad("no blank line before the signatures")
	}
	body += "\n"
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 5 {
		return bad("want 5 lines before the signatures")
	}
	c := &Checkpoint{Origin: lines[0]}
	if c.Origin == "" || strings.ContainsAny(c.Origin, " \t\r+") {
		return bad("bad origin")
	}
	n, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != lines[1] {
		return bad("bad tree size")
	}
	c.Size = n
	if c.Root, err = hash32(lines[2]); err != nil {
		return bad("bad root hash")
	}
	v, ok := strings.CutPrefix(lines[3], "chain ")
	if !ok {
		return bad("no chain line")
	}
	if c.Chain, err = hash32(v); err != nil {
		return bad("bad chain head")
	}
	v, ok = strings.CutPrefix(lines[4], "time ")
	if !ok {
		return bad("no time line")
	}
	if c.Time, err = time.Parse(time.RFC3339Nano, v); err != nil || c.Time.Location() != time.UTC {
		return bad("bad time")
	}
	if c.body() != body {
		return bad("not in canonical form")
	}
	if !strings.HasSuffix(sigText, "\n") {
		return bad("signatures not ended by a newline")
	}
	var sigs []noteSig
	for _, l := range strings.Split(strings.TrimSuffix(sigText, "\n"), "\n") {
		rest, ok := strings.CutPrefix(l, sigPrefix)
		if !ok {
			return bad("signature line without the em dash")
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok || name == "" {
			return bad("bad signature line")
		}
		blob, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(blob) != 4+ed25519.SignatureSize {
			return bad("bad signature")
		}
		sigs = append(sigs, noteSig{name: name, hash: binary.BigEndian.Uint32(blob), sig: blob[4:]})
	}
	return c, sigs, nil
}

func hash32(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != sha256.Size || base64.StdEncoding.EncodeToString(b) != s {
		return nil, errors.New("not a base64 SHA-256 hash")
	}
	return b, nil
}
