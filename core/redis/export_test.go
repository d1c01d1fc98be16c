package redis

import "time"

// SetClock makes s (and tiers over it) read the time from now.
func SetClock(s *SessionStore, now func() time.Time) { s.now = now }
