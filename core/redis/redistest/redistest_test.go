package redistest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { Main(m) }

// TestKeysDeletedAfterTest writes keys under two tests' prefixes and checks
// that each test's keys, and only those, are gone after it.
func TestKeysDeletedAfterTest(t *testing.T) {
	ctx := context.Background()
	var prefixes []string
	for i := 0; i < 2; i++ {
		t.Run(fmt.Sprintf("writer%d", i), func(t *testing.T) {
			c, prefix := New(t)
			for j := 0; j < 700; j++ { // more than one SCAN page
				if err := c.Set(ctx, fmt.Sprintf("%sk%d", prefix, j), j, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			prefixes = append(prefixes, prefix)
		})
	}
	if len(prefixes) != 2 || prefixes[0] == prefixes[1] {
		t.Fatalf("prefixes %v, want two different ones", prefixes)
	}
	c, _ := New(t)
	outside := "outside:" + prefixes[0]
	if err := c.Set(ctx, outside, 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Del(context.Background(), outside) })
	for _, p := range prefixes {
		keys, err := c.Keys(ctx, p+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 0 {
			t.Errorf("%d keys with prefix %s left after the test", len(keys), p)
		}
	}
	if err := deletePrefix(ctx, c, prefixes[1]); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, outside).Result(); err != nil || n != 1 {
		t.Errorf("a key outside the prefix was deleted: %d, %v", n, err)
	}
}

func TestURLParses(t *testing.T) {
	if _, err := goredis.ParseURL(URL(t)); err != nil {
		t.Fatal(err)
	}
}

// TestHelperProcess is not a test: re-executed with
// TROVATO_REDISTEST_HELPER set, it starts the private server, prints its
// directory and waits to be killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("TROVATO_REDISTEST_HELPER") == "" {
		t.Skip("helper process")
	}
	URL(t)
	fmt.Println(h.dir)
	select {}
}

// TestReaperCleansUpAfterKill kills a test process that started a private
// redis-server: its reaper must stop the server and remove the directory.
func TestReaperCleansUpAfterKill(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvRedisURL+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "TROVATO_REDISTEST_HELPER=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	dir := strings.TrimSpace(line)
	if err != nil || !strings.Contains(dir, "trovato-redistest-") {
		t.Fatalf("helper said %q, %v", line, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "redis", "redis.pid"))
	if err != nil {
		t.Fatalf("no running server: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists 30 s after its process was killed", dir)
		}
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z ") {
		t.Errorf("redis-server %d still runs", pid)
	}
}

func TestWithoutMainOrURL(t *testing.T) {
	t.Setenv(EnvRedisURL, "")
	var fresh harness
	_, err := fresh.get(context.Background())
	if err == nil || !strings.Contains(err.Error(), "redistest.Main") || !strings.Contains(err.Error(), EnvRedisURL) {
		t.Fatalf("got %v, want an error naming redistest.Main and %s", err, EnvRedisURL)
	}
}
