package render

import (
	"container/list"
	"crypto/sha256"
	"html/template"
	"sync"
)

// DefaultFormatCacheBytes bounds the memo of formatted text.
const DefaultFormatCacheBytes = 16 << 20

// formatMemo remembers FormatText results by a hash of format and text,
// like Drupal's filter cache: formatting is a pure function of both, so
// entries never go stale and need no invalidation. Least recently used
// entries go first once the byte budget is spent.
type formatMemo struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *memoEntry, most recent first
	byKey map[[32]byte]*list.Element
}

type memoEntry struct {
	key  [32]byte
	html template.HTML
	cost int
}

func newFormatMemo(maxBytes int) *formatMemo {
	if maxBytes <= 0 {
		return nil
	}
	return &formatMemo{max: maxBytes, order: list.New(), byKey: map[[32]byte]*list.Element{}}
}

func memoKey(format, idPrefix, text string) [32]byte {
	h := sha256.New()
	h.Write([]byte(format))
	h.Write([]byte{0})
	h.Write([]byte(idPrefix))
	h.Write([]byte{0})
	h.Write([]byte(text))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (m *formatMemo) get(k [32]byte) (template.HTML, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byKey[k]
	if !ok {
		return "", false
	}
	m.order.MoveToFront(e)
	return e.Value.(*memoEntry).html, true
}

func (m *formatMemo) put(k [32]byte, h template.HTML) {
	cost := len(h) + 64
	if cost > m.max/8 {
		return // one huge body must not flush everything else
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byKey[k]; ok {
		return
	}
	m.byKey[k] = m.order.PushFront(&memoEntry{key: k, html: h, cost: cost})
	m.size += cost
	for m.size > m.max {
		last := m.order.Back()
		e := last.Value.(*memoEntry)
		m.order.Remove(last)
		delete(m.byKey, e.key)
		m.size -= e.cost
	}
}
