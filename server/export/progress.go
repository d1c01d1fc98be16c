package export

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress reports rendered URLs: a bar redrawn in place on a terminal,
// a plain line every two seconds otherwise.
type progress struct {
	w             io.Writer
	tty           bool
	count, queued *atomic.Int64
	stop          chan struct{}
	wg            sync.WaitGroup
}

func newProgress(w io.Writer, count, queued *atomic.Int64) *progress {
	p := &progress{w: w, count: count, queued: queued, stop: make(chan struct{})}
	if w == nil {
		return p
	}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	every := 2 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print(false)
			}
		}
	}()
	return p
}

func (p *progress) print(final bool) {
	n, q := p.count.Load(), p.queued.Load()
	if !p.tty {
		fmt.Fprintf(p.w, "export: %d of %d URLs rendered\n", n, q)
		return
	}
	const width = 30
	fill := 0
	if q > 0 {
		fill = int(int64(width) * n / q)
	}
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d URLs%s", strings.Repeat("#", fill), strings.Repeat(" ", width-fill), n, q, end)
}

// done stops the reports and prints the last one.
func (p *progress) done() {
	if p.w == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.print(true)
}
