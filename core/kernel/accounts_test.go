package kernel

import (
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

func TestParseRateLimits(t *testing.T) {
	got, err := ParseRateLimits(" login=10/1m, reset=off ,form=0/1s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]RateLimit{"login": {10, time.Minute}, "reset": {}, "form": {0, time.Second}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for c, l := range want {
		if got[c] != l {
			t.Errorf("%s = %v, want %v", c, got[c], l)
		}
	}
	for _, bad := range []string{"login", "=1/1m", "login=x/1m", "login=1", "login=1/0s", "login=-1/1m"} {
		if _, err := ParseRateLimits(bad); core.ErrorCode(err) != core.EInvalid {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseLockout(t *testing.T) {
	p, err := ParseLockout("", core.DefaultAccountLockout)
	if err != nil || p != core.DefaultAccountLockout {
		t.Fatalf("default: %v %v", p, err)
	}
	p, err = ParseLockout("3/10m", core.LockoutPolicy{})
	if err != nil || p != (core.LockoutPolicy{MaxFailures: 3, Window: 10 * time.Minute, LockFor: 10 * time.Minute}) {
		t.Fatalf("3/10m: %v %v", p, err)
	}
	for _, bad := range []string{"3", "0/1m", "3/1ms", "x/1m"} {
		if _, err := ParseLockout(bad, core.LockoutPolicy{}); core.ErrorCode(err) != core.EInvalid {
			t.Errorf("%q: %v", bad, err)
		}
	}
	cfg := DefaultConfig(t.TempDir())
	cfg.LoginLockout = "nope"
	if err := cfg.Validate(); core.ErrorCode(err) != core.EInvalid {
		t.Errorf("Validate with a bad login_lockout: %v", err)
	}
}
