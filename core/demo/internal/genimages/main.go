// Command genimages draws the demo's illustrations into core/demo/files.
// The pictures are computed, not photographed: gradients and geometric
// shapes drawn with the standard image packages, deterministic so that
// running it again gives the same bytes (and the same content hashes).
//
//	go generate ./core/demo
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Width and height of every picture (16:9).
const (
	W = 800
	H = 450
)

// maxSize is the budget of one file in bytes.
const maxSize = 30 << 10

type picture struct {
	name string
	draw func(x, y float64) color.RGBA // x, y in [0,1)
	ss   int                           // supersampling per axis
}

func main() {
	out := flag.String("out", "files", "output directory")
	flag.Parse()
	pics := []picture{
		{"aurora.jpg", aurora, 1},
		{"dusk-ridges.png", duskRidges, 3},
		{"bauhaus-tiles.png", bauhausTiles(), 3},
		{"layers.jpg", layers, 2},
		{"ripples.png", ripples, 2},
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, p := range pics {
		b, err := render(p)
		if err != nil {
			log.Fatalf("%s: %v", p.name, err)
		}
		if len(b) > maxSize {
			log.Fatalf("%s: %d bytes, over the %d byte budget", p.name, len(b), maxSize)
		}
		if err := os.WriteFile(filepath.Join(*out, p.name), b, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-20s %6d bytes\n", p.name, len(b))
	}
}

func render(p picture) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	n := float64(p.ss * p.ss)
	for py := 0; py < H; py++ {
		for px := 0; px < W; px++ {
			var r, g, b float64
			for sy := 0; sy < p.ss; sy++ {
				for sx := 0; sx < p.ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/float64(p.ss)) / W
					y := (float64(py) + (float64(sy)+0.5)/float64(p.ss)) / H
					c := p.draw(x, y)
					r += float64(c.R)
					g += float64(c.G)
					b += float64(c.B)
				}
			}
			img.SetRGBA(px, py, color.RGBA{uint8(r/n + 0.5), uint8(g/n + 0.5), uint8(b/n + 0.5), 255})
		}
	}
	var buf bytes.Buffer
	var err error
	if strings.HasSuffix(p.name, ".jpg") {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 72})
	} else {
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		err = enc.Encode(&buf, img)
	}
	return buf.Bytes(), err
}

// rgb makes a colour from 0xRRGGBB.
func rgb(v uint32) color.RGBA {
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}
}

// mix blends a and b: t=0 is a, t=1 is b.
func mix(a, b color.RGBA, t float64) color.RGBA {
	t = math.Max(0, math.Min(1, t))
	l := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.RGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 255}
}

func smooth(t float64) float64 {
	t = math.Max(0, math.Min(1, t))
	return t * t * (3 - 2*t)
}

// aurora: a night sky from indigo to teal crossed by soft glowing ribbons.
func aurora(x, y float64) color.RGBA {
	c := mix(rgb(0x0b1033), rgb(0x0f3d4c), y)
	ribbons := []struct {
		col          color.RGBA
		base, amp, f float64
		phase, width float64
	}{
		{rgb(0x5cf2b0), 0.42, 0.10, 2.1, 0.3, 0.06},
		{rgb(0x9a7cf5), 0.30, 0.07, 3.3, 1.7, 0.04},
		{rgb(0x3fd0e0), 0.58, 0.05, 1.4, 2.9, 0.05},
	}
	for _, r := range ribbons {
		cy := r.base + r.amp*math.Sin(2*math.Pi*r.f*x+r.phase)
		d := (y - cy) / r.width
		// A curtain: bright at its lower edge, fading upwards.
		var glow float64
		if d > 0 {
			glow = math.Exp(-d * d * 4)
		} else {
			glow = math.Exp(d * 0.9)
		}
		c = mix(c, r.col, 0.55*glow)
	}
	// Stars: one in some cells of a grid, at a hashed position.
	const cells = 48
	cx, cy := int(x*cells), int(y*cells*H/W)
	h := uint32(cx*73856093) ^ uint32(cy*19349663)
	h ^= h >> 13
	h *= 0x5bd1e995
	h ^= h >> 15
	if y < 0.45 && h%5 == 0 {
		ox, oy := float64(h>>8&0xff)/255, float64(h>>16&0xff)/255
		sx, sy := x*cells-float64(cx), y*cells*H/W-float64(cy)
		if math.Hypot(sx-0.2-0.6*ox, sy-0.2-0.6*oy) < 0.08 {
			c = mix(c, rgb(0xffffff), 0.5+0.4*float64(h>>24&0xff)/255)
		}
	}
	return c
}

// duskRidges: layered mountain ridges under a banded evening sky and a sun.
func duskRidges(x, y float64) color.RGBA {
	bands := []color.RGBA{rgb(0x2b2d5c), rgb(0x4a3a78), rgb(0x7d4a8a), rgb(0xc0607a), rgb(0xf08a6c), rgb(0xf7b977)}
	i := int(y / 0.62 * float64(len(bands)))
	if i >= len(bands) {
		i = len(bands) - 1
	}
	c := bands[i]
	if math.Hypot(x-0.68, (y-0.52)*H/W) < 0.09 {
		c = rgb(0xffe3a3)
	}
	ridges := []struct {
		col          color.RGBA
		base, amp, f float64
		phase        float64
	}{
		{rgb(0x8c4d7a), 0.50, 0.08, 1.3, 0.4},
		{rgb(0x6a3b6e), 0.60, 0.07, 2.2, 2.1},
		{rgb(0x4a2c5c), 0.70, 0.06, 3.1, 4.0},
		{rgb(0x2f1f45), 0.80, 0.05, 4.3, 1.2},
		{rgb(0x1a1330), 0.90, 0.04, 5.9, 5.3},
	}
	for _, r := range ridges {
		top := r.base - r.amp*(math.Abs(math.Sin(math.Pi*r.f*x+r.phase))+0.4*math.Sin(2*math.Pi*r.f*2.3*x))
		if y > top {
			c = r.col
		}
	}
	return c
}

// bauhausTiles: a grid of tiles, each holding one simple shape in a small
// palette; the arrangement is pseudo-random with a fixed seed.
func bauhausTiles() func(x, y float64) color.RGBA {
	const cols, rows = 8, 4.5
	palette := []color.RGBA{rgb(0xf2e8d5), rgb(0xe4572e), rgb(0x29335c), rgb(0xf3a712), rgb(0x669bbc)}
	rng := rand.New(rand.NewPCG(7, 2026))
	type tile struct {
		bg, fg color.RGBA
		shape  int
		rot    int
	}
	tiles := make([]tile, 8*5)
	for i := range tiles {
		bg := rng.IntN(len(palette))
		fg := (bg + 1 + rng.IntN(len(palette)-1)) % len(palette)
		tiles[i] = tile{palette[bg], palette[fg], rng.IntN(4), rng.IntN(4)}
	}
	return func(x, y float64) color.RGBA {
		gx, gy := x*cols, y*rows
		ix, iy := int(gx), int(gy)
		t := tiles[iy*8+ix]
		u, v := gx-float64(ix), gy-float64(iy)
		for r := 0; r < t.rot; r++ {
			u, v = v, 1-u
		}
		in := false
		switch t.shape {
		case 0: // quarter circle from a corner
			in = math.Hypot(u, v) < 1
		case 1: // centred circle
			in = math.Hypot(u-0.5, v-0.5) < 0.36
		case 2: // triangle, half the tile
			in = u+v < 1
		case 3: // half circle on an edge
			in = math.Hypot(u-0.5, v) < 0.5
		}
		if in {
			return t.fg
		}
		return t.bg
	}
}

// layers: translucent slabs stacked over a warm gradient, the way a stage
// lies over live.
func layers(x, y float64) color.RGBA {
	c := mix(rgb(0xfbe7c6), rgb(0xf4a988), y*0.8+x*0.2)
	slabs := []struct {
		col        color.RGBA
		x0, y0     float64
		w, h, skew float64
	}{
		{rgb(0x2a6f97), 0.13, 0.62, 0.50, 0.15, 0.10},
		{rgb(0x468faf), 0.17, 0.47, 0.50, 0.15, 0.10},
		{rgb(0x61a5c2), 0.21, 0.32, 0.50, 0.15, 0.10},
		{rgb(0xe07a5f), 0.25, 0.17, 0.50, 0.15, 0.10},
	}
	for _, s := range slabs {
		// A parallelogram: the top edge is shifted right by skew.
		t := (y - s.y0) / s.h
		if t < 0 || t > 1 {
			continue
		}
		left := s.x0 + s.skew*(1-t)
		if x >= left && x <= left+s.w {
			edge := math.Min(math.Min(x-left, left+s.w-x)/0.01, math.Min(t, 1-t)*s.h/0.01)
			c = mix(c, s.col, 0.72)
			if edge < 1 {
				c = mix(c, rgb(0xffffff), 0.35)
			}
		}
	}
	return c
}

// ripples: concentric rings from two centres, quantised to a few tones.
func ripples(x, y float64) color.RGBA {
	tones := []color.RGBA{rgb(0x0d3b66), rgb(0x145c8a), rgb(0x1f7a8c), rgb(0x56a3a6), rgb(0xbfdbd6)}
	ax := x * W / H
	d1 := math.Hypot(ax-0.55, y-0.45)
	d2 := math.Hypot(ax-1.25, y-0.62)
	v := math.Sin(d1*12) + math.Sin(d2*9)
	i := int((v + 2) / 4 * float64(len(tones)))
	if i >= len(tones) {
		i = len(tones) - 1
	}
	return tones[i]
}
