package redistest

import (
	"context"
	"fmt"
	"testing"

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
