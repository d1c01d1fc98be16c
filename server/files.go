package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"image"
	_ "image/gif" // decode GIF sources
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // decode WebP sources

	"github.com/trovato/trovato/core"
)

// Image styles: derivative widths in pixels. Images are never enlarged.
var Styles = map[string]int{
	"thumbnail": 320,
	"medium":    800,
	"large":     1600,
}

// Limits of derivative making.
const (
	maxSourcePixels = 50_000_000 // width × height of a source image
	maxSourceBytes  = 64 << 20
	styleCacheTTL   = 30 * 24 * time.Hour
)

// fileCSP replaces the page CSP on files: nothing they contain may run.
const fileCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

// inlineTypes are shown in the browser; every other file downloads.
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// styleExt is the extension of a derivative of an image type: JPEG stays
// JPEG, everything else becomes PNG (no WebP encoder is used: the only
// pure-Go one is lossless-only, which makes photos larger than JPEG).
func styleExt(mimeType string) string {
	if mimeType == "image/jpeg" {
		return "jpg"
	}
	return "png"
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	b, err := hex.DecodeString(h)
	return err == nil && len(b) == 32 && hex.EncodeToString(b) == h
}

// serveFile streams /files/{hash}/{name} from the blob store:
// content-addressed, so cached for a year.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	hash, name := r.PathValue("hash"), r.PathValue("name")
	if !validHash(hash) || name == "" {
		return core.Errorf(core.ENotFound, "file not found")
	}
	ctx := r.Context()
	f, err := s.k.Store.Site().FindFileByHash(ctx, hash, name)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", fileCSP)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+hash+`"`)
	if notModified(r, hash) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	disp := "attachment"
	if inlineTypes[f.MIME] {
		disp = "inline"
	}
	h.Set("Content-Type", f.MIME)
	cd := mime.FormatMediaType(disp, map[string]string{"filename": f.Name})
	if cd == "" { // a name FormatMediaType cannot encode
		cd = disp + `; filename="download"`
	}
	h.Set("Content-Disposition", cd)
	h.Set("Accept-Ranges", "bytes")
	offset, length, status := int64(0), f.Size, http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && (r.Header.Get("If-Range") == "" || r.Header.Get("If-Range") == `"`+hash+`"`) {
		start, n, ok, satisfiable := parseRange(rg, f.Size)
		switch {
		case ok && !satisfiable:
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(f.Size, 10))
			h.Del("Content-Disposition")
			h.Del("ETag")
			s.errorPage(w, r, http.StatusRequestedRangeNotSatisfiable, "The requested range is not in the file.")
			return nil
		case ok:
			offset, length, status = start, n, http.StatusPartialContent
			h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(f.Size, 10))
		}
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	body, err := s.k.Store.Site().OpenBlobRange(ctx, hash, offset, length)
	if err != nil {
		h.Del("Content-Range")
		h.Del("Content-Length")
		return err
	}
	defer body.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Minute))
	w.WriteHeader(status)
	if _, err := io.Copy(w, body); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("file download interrupted", "hash", hash, "err", err)
	}
	return nil
}

// parseRange reads a single byte range ("bytes=a-b", "bytes=a-",
// "bytes=-n") against size. ok is false for anything else (several
// ranges, other units, malformed: the whole file is sent);
// satisfiable is false when the range starts beyond the end.
func parseRange(h string, size int64) (start, length int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 18 || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	switch {
	case a == "":
		n, valid := num(b)
		if !valid {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		n = min(n, size)
		return size - n, n, true, true
	default:
		first, valid := num(a)
		if !valid {
			return 0, 0, false, false
		}
		last := size - 1
		if b != "" {
			l, valid := num(b)
			if !valid || l < first {
				return 0, 0, false, false
			}
			last = min(l, size-1)
		}
		if first >= size {
			return 0, 0, true, false
		}
		return first, last - first + 1, true, true
	}
}

// serveStyle serves /files/styles/{style}/{hash}.{ext}: the image
// resized to the style's width, made on first request and kept in the
// blob store (the cache maps (style, hash) to the derivative's hash).
func (s *Server) serveStyle(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	style, file := r.PathValue("style"), r.PathValue("file")
	width, ok := Styles[style]
	hash, ext, _ := strings.Cut(file, ".")
	if !ok || !validHash(hash) {
		return core.Errorf(core.ENotFound, "image not found")
	}
	ctx := r.Context()
	srcType, err := s.k.Store.Site().FindFileMIME(ctx, hash)
	if err != nil {
		return err
	}
	if !inlineTypes[srcType] || ext != styleExt(srcType) {
		return core.Errorf(core.ENotFound, "image not found")
	}
	ctype := "image/png"
	if ext == "jpg" {
		ctype = "image/jpeg"
	}
	h := w.Header()
	h.Set("Content-Security-Policy", fileCSP)
	tag := style + "-" + hash
	if notModified(r, tag) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", `"`+tag+`"`)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	data, err := s.derivative(ctx, style, width, hash, ext)
	if err != nil {
		return err
	}
	s.send(w, r, response{status: http.StatusOK, ctype: ctype, body: data, etag: tag, cache: "public, max-age=31536000, immutable"})
	return nil
}

// derivative returns the bytes of a derivative: from the blob store when
// it was made before, else made now (once, however many ask at the same
// time; at most two at a time).
func (s *Server) derivative(ctx context.Context, style string, width int, hash, ext string) ([]byte, error) {
	key := "style:" + style + ":" + hash
	if dh, ok, err := s.cache.GetCache(ctx, key); err == nil && ok && validHash(string(dh)) {
		if data, err := s.readBlob(ctx, string(dh)); err == nil {
			return data, nil
		} else if core.ErrorCode(err) != core.ENotFound {
			return nil, err
		}
	} else if err != nil {
		s.log.Warn("derivative cache failed", "err", err)
	}
	v, err, _ := s.styles.Do(key, func() (any, error) {
		// The work outlives a visitor who goes away: others may wait on it.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		select {
		case s.styleSem <- struct{}{}:
			defer func() { <-s.styleSem }()
		case <-wctx.Done():
			return nil, wctx.Err()
		}
		data, err := s.makeDerivative(wctx, width, hash, ext)
		if err != nil {
			return nil, err
		}
		dh, _, err := s.k.Store.Blobs().PutBlob(wctx, bytes.NewReader(data), 0)
		if err != nil {
			return nil, err
		}
		if err := s.cache.SetCache(wctx, key, []byte(dh), styleCacheTTL); err != nil {
			s.log.Warn("derivative cache failed", "err", err)
		}
		s.metrics.derivatives.WithLabelValues(style).Inc()
		return data, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

func (s *Server) readBlob(ctx context.Context, hash string) ([]byte, error) {
	rc, size, err := s.k.Store.Blobs().OpenBlob(ctx, hash)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxSourceBytes {
		return nil, core.Errorf(core.ETooLarge, "blob too large")
	}
	return io.ReadAll(io.LimitReader(rc, maxSourceBytes))
}

// makeDerivative decodes the source image, scales it to width (never
// up) with Catmull-Rom, and encodes it as JPEG (quality 85) or PNG.
func (s *Server) makeDerivative(ctx context.Context, width int, hash, ext string) ([]byte, error) {
	src, err := s.readBlob(ctx, hash)
	if err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(src))
	if err != nil {
		s.log.Warn("image does not decode", "hash", hash, "err", err)
		return nil, core.Errorf(core.ENotFound, "image not found")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxSourcePixels {
		s.log.Warn("image too large for derivatives", "hash", hash, "width", cfg.Width, "height", cfg.Height)
		return nil, core.Errorf(core.ENotFound, "image not found")
	}
	img, _, err := image.Decode(bytes.NewReader(src))
	if err != nil {
		s.log.Warn("image does not decode", "hash", hash, "err", err)
		return nil, core.Errorf(core.ENotFound, "image not found")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > width {
		h = max(1, h*width/w)
		w = width
	}
	var dst draw.Image
	if ext == "jpg" {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewNRGBA(image.Rect(0, 0, w, h))
	}
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	}
	var out bytes.Buffer
	if ext == "jpg" {
		err = jpeg.Encode(&out, dst, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&out, dst)
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// serveAsset serves theme assets under their hashed names: a current
// hash is immutable for a year; an old one gets the current bytes,
// revalidated.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	a, current, ok := s.r.LookupAsset(r.URL.Path)
	if !ok {
		return core.Errorf(core.ENotFound, "asset not found")
	}
	cache := "public, max-age=31536000, immutable"
	if !current {
		cache = "no-cache"
	}
	s.send(w, r, response{status: http.StatusOK, ctype: a.ContentType, body: a.Body, etag: a.Hash, cache: cache,
		encoded: func(enc string) []byte {
			key := a.Hash + "/" + a.Name + ":" + enc
			s.assetMu.Lock()
			z, ok := s.assetGzip[key]
			s.assetMu.Unlock()
			if ok {
				return z
			}
			z = compress(enc, a.Body)
			s.assetMu.Lock()
			s.assetGzip[key] = z
			s.assetMu.Unlock()
			return z
		}})
	return nil
}
