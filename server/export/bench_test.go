package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/server/export"
)

// BenchmarkExport generates Markdown articles (about 1 KB, 3 tags, a
// category) over the demo site, 1,000 and 10,000 by default
// (TROVATO_BENCH_EXPORT_SIZES=1000,10000), and measures in one run: a full
// export, an incremental export after one edit (five body edits: the
// median), and — when hugo is on PATH — Hugo's build of the same articles
// with a minimal layout. The details add one title edit and one new
// article, each followed by an incremental export.
// build/bench-export.sh runs it.
func BenchmarkExport(b *testing.B) {
	sizes := []int{1000, 10000}
	if v := os.Getenv("TROVATO_BENCH_EXPORT_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("TROVATO_BENCH_EXPORT_SIZES=%q: want counts like 1000,10000", v)
			}
			sizes = append(sizes, n)
		}
	}
	hugo, _ := exec.LookPath("hugo")
	var t, details strings.Builder
	fmt.Fprintf(&t, "\nstatic export on %d CPUs (full: every URL; incremental: after one article's body changed, median of 5;\n", runtime.NumCPU())
	fmt.Fprintf(&t, "CPU: the export's process and its database's PostgreSQL backends, hugo's process: what the machine's load moves least)\n")
	fmt.Fprintf(&t, "%9s %7s %10s %12s %10s %10s %12s %10s %10s %12s\n", "articles", "URLs", "full", "incremental", "inc-URLs", "hugo", "full/hugo",
		"full-CPU", "hugo-CPU", "CPU-ratio")
	for _, n := range sizes {
		k, admin := demoKernel(b)
		genStart := time.Now()
		arts := generate(b, k, admin, n)
		dir := b.TempDir()
		ex, err := export.New(k, export.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d articles generated in %s", n, time.Since(genStart).Round(time.Millisecond))
		start, cpu0 := time.Now(), selfCPU()+dbCPU(b, k)
		full, err := ex.Export(context.Background(), dir)
		if err != nil {
			b.Fatal(err)
		}
		fullD, fullCPU := time.Since(start), selfCPU()+dbCPU(b, k)-cpu0

		// Five edits of different articles, each followed by an
		// incremental export; the median is reported (the machine's load
		// moves single runs by several times).
		var (
			inc  *export.Report
			incs []time.Duration
		)
		// TROVATO_BENCH_EXPORT_CPUPROFILE=FILE profiles the incremental
		// exports only (of the last size).
		var prof *os.File
		if name := os.Getenv("TROVATO_BENCH_EXPORT_CPUPROFILE"); name != "" {
			if prof, err = os.Create(name); err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(prof); err != nil {
				b.Fatal(err)
			}
		}
		for i := range 5 {
			a := arts[(len(arts)/2+i*97)%len(arts)]
			body, _ := json.Marshal(map[string]string{"body": a.body + fmt.Sprintf("\n\nEdited for the bench (%d).", i)})
			if _, err := k.Store.Items().UpdateItem(admin, core.LiveStageID, a.id, core.ItemUpdate{Fields: body, Log: "bench"}); err != nil {
				b.Fatal(err)
			}
			ex, err = export.New(k, export.Options{})
			if err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			r, err := ex.Export(context.Background(), dir)
			if err != nil {
				b.Fatal(err)
			}
			incs = append(incs, time.Since(start))
			if len(r.Changed) == 0 {
				b.Fatalf("the edit changed no file")
			}
			if inc == nil || len(incs) == 3 {
				inc = r
			}
			fmt.Fprintf(&details, "incremental %d, %d articles: %s, %d URLs; slowest %s\n", i+1, n, incs[i].Round(time.Millisecond), r.Rendered, slowest(r))
		}
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
		}
		// Other edits, once each: a title (its teaser, and so the listing
		// pages showing it, deep in their pagers, and its alias), a new
		// article (every page of the listings it is in moves by one).
		other := func(what string, edit func()) {
			edit()
			ex, err := export.New(k, export.Options{})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			r, err := ex.Export(context.Background(), dir)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&details, "incremental after %s, %d articles: %s, %d URLs; %s\n", what, n, time.Since(start).Round(time.Millisecond), r.Rendered, phases(r))
		}
		other("a title edit", func() {
			a := arts[len(arts)/3]
			title := a.title + " (retitled)"
			if _, err := k.Store.Items().UpdateItem(admin, core.LiveStageID, a.id, core.ItemUpdate{Title: &title, Log: "bench"}); err != nil {
				b.Fatal(err)
			}
		})
		other("a new article", func() {
			a := arts[len(arts)/3]
			fields, _ := json.Marshal(map[string]any{"body": a.body, "category": map[string]string{"id": a.categoryID.String()}})
			it := &core.Item{Type: "article", Title: "A new article for the bench", Status: core.StatusPublished, Promote: true, Fields: fields}
			if err := k.Store.Items().CreateItem(admin, core.LiveStageID, it, "bench"); err != nil {
				b.Fatal(err)
			}
		})
		slices.Sort(incs)
		incD := incs[len(incs)/2]
		fmt.Fprintf(&details, "incremental (median), %d articles: %s\n", n, phases(inc))
		fmt.Fprintf(&details, "full, %d articles: %s; slowest %s\n", n, phases(full), slowest(full))
		hugoCol, ratio, hugoCPUCol, cpuRatio := "-", "-", "-", "-"
		if hugo != "" {
			hd, hcpu := hugoBuild(b, hugo, arts)
			hugoCol, hugoCPUCol = hd.Round(time.Millisecond).String(), hcpu.Round(time.Millisecond).String()
			ratio = fmt.Sprintf("%.2f", fullD.Seconds()/hd.Seconds())
			cpuRatio = fmt.Sprintf("%.2f", fullCPU.Seconds()/hcpu.Seconds())
			b.ReportMetric(fullD.Seconds()/hd.Seconds(), fmt.Sprintf("full/hugo-%d", n))
			b.ReportMetric(fullCPU.Seconds()/hcpu.Seconds(), fmt.Sprintf("full-cpu/hugo-cpu-%d", n))
		}
		fmt.Fprintf(&t, "%9d %7d %10s %12s %10d %10s %12s %10s %10s %12s\n", n, full.Rendered, fullD.Round(time.Millisecond),
			incD.Round(time.Millisecond), inc.Rendered, hugoCol, ratio, fullCPU.Round(time.Millisecond), hugoCPUCol, cpuRatio)
		b.ReportMetric(float64(fullD.Milliseconds()), fmt.Sprintf("full-ms-%d", n))
		b.ReportMetric(float64(incD.Microseconds())/1000, fmt.Sprintf("incremental-ms-%d", n))
	}
	fmt.Print(t.String())
	fmt.Print(details.String())
}

// phases is where an export's time went, on one line.
func phases(r *export.Report) string {
	var out []string
	for _, p := range r.Phases {
		out = append(out, fmt.Sprintf("%s %s", p.Name, p.Duration.Round(time.Millisecond)))
	}
	return strings.Join(out, ", ")
}

// slowest names an export's slowest URLs.
func slowest(r *export.Report) string {
	var out []string
	for _, u := range r.Slowest {
		out = append(out, fmt.Sprintf("%s %s", u.URL, u.Duration.Round(time.Millisecond)))
	}
	return strings.Join(out, ", ")
}

type article struct {
	id         core.ID
	title      string
	body       string
	tags       []string
	category   string
	created    time.Time
	tagIDs     []core.ID
	categoryID core.ID
}

var words = strings.Fields(`stage publish render field gather term alias menu plugin theme island export deploy cache
feed revision release item type editor visitor server desktop markdown sandbox manifest static page listing`)

// generate creates n published articles with 3 demo tags and a demo
// category each, eight writers at a time.
func generate(b *testing.B, k *kernel.Kernel, admin context.Context, n int) []article {
	b.Helper()
	tags := termsOf(b, k, admin, "tags")
	cats := termsOf(b, k, admin, "categories")
	arts := make([]article, n)
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range arts {
		var sb strings.Builder
		fmt.Fprintf(&sb, "## Part %d\n\n", i)
		for sb.Len() < 1000 {
			for j := 0; j < 12; j++ {
				sb.WriteString(words[r.IntN(len(words))] + " ")
			}
			sb.WriteString("*" + words[r.IntN(len(words))] + "*.\n")
		}
		a := article{title: fmt.Sprintf("Article %d on %s and %s", i, words[i%len(words)], words[(i/7)%len(words)]),
			body: sb.String(), created: base.Add(time.Duration(i) * time.Hour)}
		perm := r.Perm(len(tags))[:3]
		for _, p := range perm {
			a.tagIDs = append(a.tagIDs, tags[p].ID)
			a.tags = append(a.tags, tags[p].Name)
		}
		c := cats[r.IntN(len(cats))]
		a.categoryID, a.category = c.ID, c.Name
		arts[i] = a
	}
	var wg sync.WaitGroup
	const writers = 8
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += writers {
				a := &arts[i]
				refs := make([]map[string]string, len(a.tagIDs))
				for j, id := range a.tagIDs {
					refs[j] = map[string]string{"id": id.String()}
				}
				fields, _ := json.Marshal(map[string]any{"body": a.body, "tags": refs, "category": map[string]string{"id": a.categoryID.String()}})
				it := &core.Item{Type: "article", Title: a.title, Status: core.StatusPublished, Promote: true, CreatedAt: a.created, Fields: fields}
				if err := k.Store.Items().CreateItem(admin, core.LiveStageID, it, "bench"); err != nil {
					errs <- err
					return
				}
				a.id = it.ID
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return arts
}

func termsOf(b testing.TB, k *kernel.Kernel, ctx context.Context, vocab string) []*core.Term {
	b.Helper()
	docs, err := k.Store.Staged().FindStagedDocs(ctx, core.KindTerm, core.LiveStageID)
	if err != nil {
		b.Fatal(err)
	}
	var ts []*core.Term
	for _, d := range docs {
		t := &core.Term{}
		if err := json.Unmarshal(d.Doc, t); err != nil {
			b.Fatal(err)
		}
		if t.ID = d.ID; t.Vocabulary == vocab {
			ts = append(ts, t)
		}
	}
	if len(ts) < 3 {
		b.Fatalf("vocabulary %s: %d terms", vocab, len(ts))
	}
	return ts
}

// hugoBuild writes the articles as a Hugo site with a minimal layout
// (article pages, paginated home, section and taxonomy lists, 10 a page)
// and times `hugo` building it: wall time and CPU time.
func hugoBuild(b *testing.B, hugo string, arts []article) (time.Duration, time.Duration) {
	b.Helper()
	dir := b.TempDir()
	files := map[string]string{
		"hugo.toml": "baseURL = 'https://example.com/'\nlanguageCode = 'en'\ntitle = 'Bench'\npaginate = 10\n" +
			"[taxonomies]\ntag = 'tags'\ncategory = 'categories'\n",
		"layouts/_default/baseof.html": `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>` +
			`<body><nav><a href="/">Home</a></nav><main>{{ block "main" . }}{{ end }}</main></body></html>`,
		"layouts/_default/single.html": `{{ define "main" }}<article><h1>{{ .Title }}</h1><time>{{ .Date.Format "2 January 2006" }}</time>{{ .Content }}` +
			`<ul>{{ range .GetTerms "tags" }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul></article>{{ end }}`,
		"layouts/_default/list.html": `{{ define "main" }}<h1>{{ .Title }}</h1>{{ range .Paginator.Pages }}<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>` +
			`<p>{{ .Summary }}</p></article>{{ end }}{{ template "_internal/pagination.html" . }}{{ end }}`,
	}
	files["layouts/index.html"] = strings.Replace(files["layouts/_default/list.html"], ".Paginator.Pages", "(.Paginate (where .Site.RegularPages \"Section\" \"posts\")).Pages", 1)
	for i, a := range arts {
		var fm strings.Builder
		fmt.Fprintf(&fm, "---\ntitle: %q\ndate: %s\ntags: [%q, %q, %q]\ncategories: [%q]\n---\n\n%s", a.title, a.created.Format(time.RFC3339),
			a.tags[0], a.tags[1], a.tags[2], a.category, a.body)
		files[fmt.Sprintf("content/posts/article-%05d.md", i)] = fm.String()
	}
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	cmd := exec.Command(hugo, "--quiet", "--source", dir, "--destination", filepath.Join(dir, "public"))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("hugo: %v\n%s", err, out)
	}
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// selfCPU is the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dbCPU is the CPU time used so far by the PostgreSQL backends connected
// to the kernel's database (read from /proc: the bench's cluster runs on
// this machine; 0 where /proc is not readable).
func dbCPU(b *testing.B, k *kernel.Kernel) time.Duration {
	b.Helper()
	rows, err := k.Pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: utime and
		// stime are the 12th and 13th.
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		if len(f) > 12 {
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += ut + st
		}
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}
