package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
)

// response is a whole response body with what its headers need.
type response struct {
	status  int
	ctype   string
	body    []byte
	cache   string    // Cache-Control
	lastMod time.Time // zero: no Last-Modified
	// etag is the entity tag of the identity body; "" computes one from
	// the body for 200 responses.
	etag string
	// encoded holds bodies already compressed (theme assets), by encoding.
	encoded func(enc string) []byte
	// noValidators leaves out ETag and Last-Modified (health checks).
	noValidators bool
	// varyCookie marks a response that depends on the session (pages:
	// previews and what a signed-in user may see).
	varyCookie bool
}

// minCompress is the smallest body worth compressing.
const minCompress = 512

// send writes a response: ETag and Last-Modified with 304s for 200s,
// brotli or gzip when the client accepts it, HEAD without a body.
func (s *Server) send(w http.ResponseWriter, r *http.Request, res response) {
	h := w.Header()
	h.Set("Content-Type", res.ctype)
	if res.cache != "" {
		h.Set("Cache-Control", res.cache)
	}
	compressible := compressibleType(res.ctype)
	switch {
	case compressible && res.varyCookie:
		h.Set("Vary", "Accept-Encoding, Cookie")
	case compressible:
		h.Set("Vary", "Accept-Encoding")
	case res.varyCookie:
		h.Set("Vary", "Cookie")
	}
	if res.status == http.StatusOK && !res.noValidators {
		tag := res.etag
		if tag == "" {
			sum := sha256.Sum256(res.body)
			tag = hex.EncodeToString(sum[:16])
		}
		if !res.lastMod.IsZero() {
			h.Set("Last-Modified", res.lastMod.UTC().Format(http.TimeFormat))
		}
		// If-Modified-Since is not evaluated for pages: a page depends on
		// more than its item (menus, terms, settings, the theme), so only
		// the ETag, a hash of the bytes, can say it has not changed.
		if notModified(r, tag) {
			h.Set("ETag", `"`+tag+`"`)
			h.Del("Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		enc := ""
		if compressible && len(res.body) >= minCompress {
			enc = negotiateEncoding(r.Header.Get("Accept-Encoding"))
		}
		body := res.body
		if enc != "" {
			var z []byte
			if res.encoded != nil {
				z = res.encoded(enc)
			} else {
				z = compress(enc, res.body)
			}
			if z != nil {
				body = z
				h.Set("Content-Encoding", enc)
				tag += "-" + enc
			}
		}
		h.Set("ETag", `"`+tag+`"`)
		res.body = body
	} else if compressible && len(res.body) >= minCompress {
		if enc := negotiateEncoding(r.Header.Get("Accept-Encoding")); enc != "" {
			if z := compress(enc, res.body); z != nil {
				res.body = z
				h.Set("Content-Encoding", enc)
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(res.body)))
	sendWhole(w, r, res.status, res.body)
}

// notModified evaluates If-None-Match (weak comparison, any encoding of
// the same entity).
func notModified(r *http.Request, tag string) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false
	}
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		t = strings.Trim(t, `"`)
		t = strings.TrimSuffix(strings.TrimSuffix(t, "-br"), "-gzip")
		if t == tag {
			return true
		}
	}
	return false
}

func compressibleType(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	switch ct {
	case "text/html", "text/css", "text/plain", "text/javascript", "application/javascript", "application/json",
		"image/svg+xml", "application/xml", "text/xml", "application/rss+xml", "application/atom+xml":
		return true
	}
	return false
}

// negotiateEncoding picks br, then gzip, from an Accept-Encoding value.
// Malformed entries are ignored, never an error.
func negotiateEncoding(ae string) string {
	if ae == "" || len(ae) > 1024 {
		return ""
	}
	q := map[string]float64{}
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		v := 1.0
		bad := false
		for _, p := range strings.Split(params, ";") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			k, val, ok := strings.Cut(p, "=")
			if !ok || strings.TrimSpace(strings.ToLower(k)) != "q" {
				bad = true
				break
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || f < 0 || f > 1 {
				bad = true
				break
			}
			v = f
		}
		if !bad {
			q[name] = v
		}
	}
	pick := func(name string) float64 {
		if v, ok := q[name]; ok {
			return v
		}
		if name == "gzip" {
			if v, ok := q["x-gzip"]; ok {
				return v
			}
		}
		if v, ok := q["*"]; ok {
			return v
		}
		return 0
	}
	br, gz := pick("br"), pick("gzip")
	switch {
	case br > 0 && br >= gz:
		return "br"
	case gz > 0:
		return "gzip"
	case br > 0:
		return "br"
	}
	return ""
}

var (
	gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, 6); return w }}
	brPool   = sync.Pool{New: func() any { return brotli.NewWriterLevel(nil, 5) }}
)

// compress returns body in the encoding, or nil on failure.
func compress(enc string, body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body) / 3)
	switch enc {
	case "gzip":
		zw := gzipPool.Get().(*gzip.Writer)
		defer gzipPool.Put(zw)
		zw.Reset(&buf)
		if _, err := zw.Write(body); err != nil || zw.Close() != nil {
			return nil
		}
	case "br":
		zw := brPool.Get().(*brotli.Writer)
		defer brPool.Put(zw)
		zw.Reset(&buf)
		if _, err := zw.Write(body); err != nil || zw.Close() != nil {
			return nil
		}
	default:
		return nil
	}
	return buf.Bytes()
}

// parseQuery parses a query string strictly (bad escapes and semicolons
// are errors).
func parseQuery(raw string) (url.Values, error) {
	return url.ParseQuery(raw)
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }

func itoa(n int) string { return strconv.Itoa(n) }
