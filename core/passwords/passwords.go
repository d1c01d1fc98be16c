// Package passwords hashes and checks account passwords: Argon2id
// (golang.org/x/crypto/argon2) in the PHC string format, the length and
// character rules, and a bundled list of common passwords.
package passwords

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/trovato/trovato/core"
)

// Params are Argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the parameters new hashes use: 64 MiB, one pass, one
// lane, 16-byte salt, 32-byte key. OWASP's Password Storage Cheat Sheet
// lists equivalent Argon2id settings from 46 MiB with one pass down to
// 19 MiB with two; 64 MiB with one pass is above the strongest of them in
// memory (what costs an attacker's GPU or ASIC the most) and above the
// weakest in total work (m×t). BenchmarkHash measures it (docs/accounts.md).
var DefaultParams = Params{Memory: 64 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// MinParams is OWASP's minimum (19 MiB, two passes); Hasher refuses less
// memory, and less total work (m×t) than this.
var MinParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Length limits, in runes.
const (
	MinLength = 12
	MaxLength = 128
)

// Hasher hashes and verifies passwords with fixed parameters, running at
// most a few hashes at once so that a burst of logins cannot exhaust
// memory (each hash holds Params.Memory while it runs).
type Hasher struct {
	p   Params
	sem chan struct{}
}

// NewHasher returns a hasher with p (DefaultParams when p is zero) that
// runs at most concurrency hashes at a time (2 × GOMAXPROCS when 0).
// EInvalid when p is weaker than MinParams.
func NewHasher(p Params, concurrency int) (*Hasher, error) {
	if p == (Params{}) {
		p = DefaultParams
	}
	if p.Memory < MinParams.Memory || p.Time < 1 || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 16 ||
		uint64(p.Memory)*uint64(p.Time) < uint64(MinParams.Memory)*uint64(MinParams.Time) {
		return nil, core.Errorf(core.EInvalid, "argon2id parameters m=%d,t=%d,p=%d are below OWASP's minimum m=%d,t=%d,p=1",
			p.Memory, p.Time, p.Threads, MinParams.Memory, MinParams.Time)
	}
	if concurrency <= 0 {
		concurrency = 2 * runtime.GOMAXPROCS(0)
	}
	return &Hasher{p: p, sem: make(chan struct{}, concurrency)}, nil
}

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.p }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

var b64 = base64.RawStdEncoding

// Hash returns password's PHC string:
// $argon2id$v=19$m=65536,t=1,p=1$<salt>$<hash> (unpadded standard base64).
// It does not check the password rules (see Check).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	h.release()
	return encode(h.p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Decoded is a parsed PHC string.
type Decoded struct {
	Params Params
	Salt   []byte
	Key    []byte
}

// Decode parses a PHC string made by Hash. EInvalid when it is not one.
func Decode(encoded string) (*Decoded, error) {
	bad := core.Errorf(core.EInvalid, "not an argon2id password hash")
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, bad
	}
	var d Decoded
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, bad
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, bad
		}
		switch k {
		case "m":
			d.Params.Memory = uint32(n)
		case "t":
			d.Params.Time = uint32(n)
		case "p":
			if n > 255 {
				return nil, bad
			}
			d.Params.Threads = uint8(n)
		default:
			return nil, bad
		}
	}
	var err error
	if d.Salt, err = b64.DecodeString(parts[4]); err != nil || len(d.Salt) < 8 {
		return nil, bad
	}
	if d.Key, err = b64.DecodeString(parts[5]); err != nil || len(d.Key) < 16 || len(d.Key) > 1024 {
		return nil, bad
	}
	// A stored hash is trusted input, but bound the work it may ask for.
	if d.Params.Memory < 8 || d.Params.Memory > 4<<20 || d.Params.Time < 1 || d.Params.Time > 64 || d.Params.Threads < 1 {
		return nil, bad
	}
	d.Params.SaltLen, d.Params.KeyLen = uint32(len(d.Salt)), uint32(len(d.Key))
	return &d, nil
}

// Verify reports whether password matches encoded, comparing in constant
// time. A malformed encoded hash is an error (EInvalid).
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	d, err := Decode(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), d.Salt, d.Params.Time, d.Params.Memory, d.Params.Threads, d.Params.KeyLen)
	h.release()
	return subtle.ConstantTimeCompare(key, d.Key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// the hasher's (they were raised since), or is not a hash Decode reads.
func (h *Hasher) NeedsRehash(encoded string) bool {
	d, err := Decode(encoded)
	if err != nil {
		return true
	}
	return d.Params != h.p
}

// Dummy returns a well-formed hash with the hasher's parameters that no
// password matches (random salt and key), so that verifying a password for
// an unknown user costs the same as for a known one.
func (h *Hasher) Dummy() string {
	salt := make([]byte, h.p.SaltLen)
	key := make([]byte, h.p.KeyLen)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	return encode(h.p, salt, key)
}
