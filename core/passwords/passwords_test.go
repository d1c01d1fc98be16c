package passwords

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

// fast are the cheapest parameters NewHasher accepts, for tests that hash
// a lot.
var fast = MinParams

func mustHasher(tb testing.TB, p Params) *Hasher {
	tb.Helper()
	h, err := NewHasher(p, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := mustHasher(t, fast)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("encoding = %q", enc)
	}
	d, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if d.Params != fast || len(d.Salt) != 16 || len(d.Key) != 32 {
		t.Fatalf("decoded %+v", d)
	}
	for _, tc := range []struct {
		name, pw string
		want     bool
	}{
		{"OK", "correct horse battery staple", true},
		{"ErrWrong", "correct horse battery stapler", false},
		{"ErrCase", "Correct horse battery staple", false},
		{"ErrEmpty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.Verify(ctx, tc.pw, enc)
			if err != nil || ok != tc.want {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	enc2, _ := h.Hash(ctx, "correct horse battery staple")
	if enc2 == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if ok, _ := h.Verify(ctx, "anything at all", h.Dummy()); ok {
		t.Fatal("the dummy hash matched a password")
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	h := mustHasher(t, fast)
	good, _ := h.Hash(context.Background(), "correct horse battery staple")
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"Empty":       "",
		"Bcrypt":      "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"Argon2i":     strings.Replace(good, "argon2id", "argon2i", 1),
		"Version":     strings.Replace(good, "v=19", "v=16", 1),
		"NoParams":    "$argon2id$v=19$$" + parts[4] + "$" + parts[5],
		"HugeMemory":  "$argon2id$v=19$m=99999999,t=2,p=1$" + parts[4] + "$" + parts[5],
		"ZeroTime":    "$argon2id$v=19$m=19456,t=0,p=1$" + parts[4] + "$" + parts[5],
		"BadSalt":     "$argon2id$v=19$m=19456,t=2,p=1$!!!$" + parts[5],
		"ShortKey":    "$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$AAAA",
		"ExtraPart":   good + "$x",
		"UnknownKey":  "$argon2id$v=19$m=19456,t=2,x=1$" + parts[4] + "$" + parts[5],
		"ThreadsHuge": "$argon2id$v=19$m=19456,t=2,p=300$" + parts[4] + "$" + parts[5],
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(enc); core.ErrorCode(err) != core.EInvalid {
				t.Fatalf("Decode(%q) = %v, want EInvalid", enc, err)
			}
			if _, err := h.Verify(context.Background(), "x", enc); core.ErrorCode(err) != core.EInvalid {
				t.Fatalf("Verify: %v", err)
			}
			if !h.NeedsRehash(enc) {
				t.Fatal("a malformed hash does not need a rehash")
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	old := mustHasher(t, fast)
	enc, _ := old.Hash(ctx, "correct horse battery staple")
	if old.NeedsRehash(enc) {
		t.Fatal("a hash with the current parameters needs a rehash")
	}
	raised := fast
	raised.Time = 3
	h := mustHasher(t, raised)
	if !h.NeedsRehash(enc) {
		t.Fatal("raising t does not ask for a rehash")
	}
	// The old hash still verifies under the new hasher: it reads the
	// parameters from the string.
	if ok, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
		t.Fatalf("old hash under raised parameters: %v %v", ok, err)
	}
}

func TestNewHasherRefusesWeakParams(t *testing.T) {
	for name, p := range map[string]Params{
		"LowMemory":  {Memory: 8 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		"OnePass":    {Memory: 19 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"ShortSalt":  {Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 32},
		"NoThreads":  {Memory: 19 * 1024, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32},
		"ShortKey":   {Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 8},
		"ZeroPasses": {Memory: 64 * 1024, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := NewHasher(p, 0); core.ErrorCode(err) != core.EInvalid {
			t.Errorf("%s: NewHasher = %v, want EInvalid", name, err)
		}
	}
	h, err := NewHasher(Params{}, 0)
	if err != nil || h.Params() != DefaultParams {
		t.Fatalf("zero params: %v %+v", err, h)
	}
}

func TestHashWaitsForASlot(t *testing.T) {
	h, err := NewHasher(fast, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.sem <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "correct horse battery staple"); err == nil {
		t.Fatal("Hash ran without a free slot")
	}
	h.release()
	if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		inputs   []string
		ok       bool
	}{
		{"OK", "correct horse battery staple", nil, true},
		{"OKUnicode", "très-sûr-pâté-ünïcødé", nil, true},
		{"OKExactly12", "x7#Kq9!mP2@z", nil, true},
		{"OK128", strings.Repeat("abcdefgh", 16), nil, true},
		{"ErrShort", "x7#Kq9!mP2@", nil, false},
		{"ErrLong", strings.Repeat("abcdefgh", 16) + "i", nil, false},
		{"ErrLongMultibyte", strings.Repeat("é", 129), nil, false},
		{"ErrInvalidUTF8", "correct horse \xff battery", nil, false},
		{"ErrNewline", "correct horse\nbattery staple", nil, false},
		{"ErrCR", "correct horse\rbattery staple", nil, false},
		{"ErrNUL", "correct horse\x00battery staple", nil, false},
		{"ErrTab", "correct\thorse battery staple", nil, false},
		{"ErrDEL", "correct horse battery\x7f staple", nil, false},
		{"ErrCommon", "1q2w3e4r5t6y", nil, false},
		{"ErrCommonUpper", "QWERTY123456", nil, false},
		{"ErrCommonPlusDigits", "iloveyou2024!", nil, false},
		{"ErrCommonPlusDigitsCase", "Sunshine12345", nil, false},
		{"ErrRepeated", "abababababababab", nil, false},
		{"ErrContainsName", "my-name-is-margherita-99", []string{"Margherita", ""}, false},
		{"ErrContainsEmailLocal", "xx-pizzalover-2024-xx", []string{"bob", "pizzalover@example.org"}, false},
		{"OKShortNameIgnored", "bob was here in 2024!", []string{"bob"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.pw, tc.inputs...)
			if tc.ok && err != nil {
				t.Fatalf("Check = %v", err)
			}
			if !tc.ok && core.ErrorCode(err) != core.EInvalid {
				t.Fatalf("Check = %v, want EInvalid", err)
			}
			if err != nil && strings.Contains(err.Error(), tc.pw) {
				t.Fatalf("the message repeats the password: %v", err)
			}
		})
	}
}

func TestCommonList(t *testing.T) {
	if n := CommonCount(); n < 10000 {
		t.Fatalf("the common list holds %d entries, want at least 10,000", n)
	}
	if len(commonTxt) > 200<<10 {
		t.Fatalf("common.txt is %d bytes, over 200 KB", len(commonTxt))
	}
	for _, pw := range []string{"password", "123456", "qwerty", "letmein", "trustno1", "qazwsxedcrfv", "1qaz2wsx3edc"} {
		if !IsCommon(pw) {
			t.Errorf("%q is not on the common list", pw)
		}
	}
	if IsCommon("correct horse battery staple") {
		t.Error("a passphrase is on the common list")
	}
}

// BenchmarkHash reports login hashes per second with DefaultParams (the
// cost of one Verify equals one Hash).
func BenchmarkHash(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    Params
	}{{"default_m64MiB_t1_p1", DefaultParams}, {"owasp_min_m19MiB_t2_p1", MinParams}} {
		b.Run(bc.name, func(b *testing.B) {
			h := mustHasher(b, bc.p)
			enc, _ := h.Hash(context.Background(), "correct horse battery staple")
			b.ResetTimer()
			for b.Loop() {
				if ok, err := h.Verify(context.Background(), "correct horse battery staple", enc); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
		})
	}
	b.Run("default_parallel", func(b *testing.B) {
		h := mustHasher(b, DefaultParams)
		enc, _ := h.Hash(context.Background(), "correct horse battery staple")
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if ok, err := h.Verify(context.Background(), "correct horse battery staple", enc); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
}
