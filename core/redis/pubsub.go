package redis

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Follower receives one Redis pub/sub channel for an in-process cache that
// the channel's messages keep honest (LocalTier, SessionTier,
// kernel.SessionUsers).
type Follower struct {
	Client  goredis.UniversalClient
	Channel string
	// Subscribed is told true each time the subscription is confirmed
	// (whatever was kept before may have missed a message) and false
	// each time it is lost; the cache flushes itself on both.
	Subscribed func(on bool)
	// Message is told each message's payload.
	Message func(payload string)
	// Log, when set, is told about failed subscriptions.
	Log *slog.Logger
	// Check is how long a quiet subscription waits before it pings Redis;
	// a ping unanswered for as long again counts as a lost subscription.
	// 0 means 2 s.
	Check time.Duration
}

// followRetry is how long Follow waits before subscribing again.
const followRetry = 500 * time.Millisecond

// Follow subscribes until ctx ends. It reads the subscription itself
// rather than through go-redis's Channel, which reconnects silently (and
// drops messages when the reader lags): here any read error ends the
// subscription, so the cache is flushed, and a new one is made.
func (f *Follower) Follow(ctx context.Context) {
	check := f.Check
	if check <= 0 {
		check = 2 * time.Second
	}
	for ctx.Err() == nil {
		err := f.once(ctx, check)
		f.Subscribed(false)
		if ctx.Err() != nil {
			return
		}
		if f.Log != nil {
			f.Log.Warn("redis subscription lost; in-process copies flushed until it is back", "channel", f.Channel, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(followRetry):
		}
	}
}

// once runs one subscription until it fails or ctx ends.
func (f *Follower) once(ctx context.Context, check time.Duration) error {
	sub := f.Client.Subscribe(ctx, f.Channel)
	defer sub.Close()
	stop := context.AfterFunc(ctx, func() { _ = sub.Close() })
	defer stop()
	subscribed, pinged := false, false
	for {
		msg, err := sub.ReceiveTimeout(ctx, check)
		if err != nil {
			var ne net.Error
			if subscribed && !pinged && errors.As(err, &ne) && ne.Timeout() {
				if err := sub.Ping(ctx); err != nil {
					return err
				}
				pinged = true
				continue
			}
			return err
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind != "subscribe" {
				return errors.New("unsubscribed")
			}
			subscribed = true
			f.Subscribed(true)
		case *goredis.Message:
			if subscribed {
				f.Message(m.Payload)
			}
		}
	}
}
