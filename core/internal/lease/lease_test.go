package lease

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestLive(t *testing.T) {
	// A pid that existed and is gone: a finished child.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := cmd.Process.Pid
	self := os.Getpid()

	tests := []struct {
		name    string
		content string // "" writes no extra lease
		want    int    // live leases besides the one acquired by the test
	}{
		{name: "OnlyOwn", want: 0},
		{name: "DeadPidIsStale", content: fmt.Sprintf("%d %s\n", deadPID, "-"), want: 0},
		{name: "RecycledPidIsStale", content: fmt.Sprintf("%d 1\n", self), want: 0},
		{name: "LivePidWithoutStartTime", content: fmt.Sprintf("%d\n", self), want: 1},
		{name: "SameProcessTwice", content: fmt.Sprintf("%d %s\n", self, processStart(self)), want: 1},
		{name: "GarbageIsStale", content: "not a lease", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(t.TempDir())
			own, err := d.Acquire()
			if err != nil {
				t.Fatal(err)
			}
			extra := filepath.Join(d.Path(), "other")
			if tt.content != "" {
				if err := os.WriteFile(extra, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n, err := d.Live()
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want+1 {
				t.Errorf("Live() = %d, want %d", n, tt.want+1)
			}
			_, statErr := os.Stat(extra)
			if tt.content != "" && (statErr == nil) != (tt.want == 1) {
				t.Errorf("stale lease kept = %v, want %v", statErr == nil, tt.want == 1)
			}
			if err := own.Release(); err != nil {
				t.Fatal(err)
			}
			if err := own.Release(); err != nil {
				t.Errorf("second Release: %v", err)
			}
			if n, _ := d.Live(); n != tt.want {
				t.Errorf("after Release: Live() = %d, want %d", n, tt.want)
			}
		})
	}
}

func TestPersistent(t *testing.T) {
	d := New(t.TempDir())
	if d.HasPersistent() {
		t.Fatal("persistent lease in an empty dir")
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := d.AcquirePersistent(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.Live(); err != nil || n != 1 {
		t.Fatalf("Live() = %d, %v; want 1", n, err)
	}
	for i := 0; i < 2; i++ {
		if err := d.ReleasePersistent(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.Live(); err != nil || n != 0 {
		t.Fatalf("Live() = %d, %v; want 0", n, err)
	}
}

func TestLockExcludes(t *testing.T) {
	d := New(t.TempDir())
	ctx := context.Background()
	l1, err := d.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := d.Lock(short); err == nil {
		t.Fatal("second Lock succeeded while the first is held")
	}
	got := make(chan error, 1)
	go func() {
		l2, err := d.Lock(ctx)
		if err == nil {
			l2.Unlock()
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	l1.Unlock()
	l1.Unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not get the lock after Unlock")
	}
}
