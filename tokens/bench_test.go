package tokens_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reactord/reactord/expr"
	"github.com/reactord/reactord/internal/natsd/natstest"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/tokens"
)

// fill creates n social security number tokens (default search indexes: the value,
// without dashes, last four) with a metadata field, 8 at a time.
func fill(b *testing.B, s *tokens.Store, n int) {
	b.Helper()
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := req("social_security_number", fmt.Sprintf(`"%03d-%02d-%04d"`, 100+i%900, i%100, i%10000))
				r.Metadata = map[string]string{"customer": fmt.Sprint(i % 1000)}
				var err error
				for range 3 { // a loaded machine can time a request out
					if _, err = s.Create(context.Background(), r); err == nil {
						break
					}
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// BenchmarkSearch measures POST /tokens/search's store side (index query plus
// reading and unsealing the page's tokens) at 10,000 and 100,000 tokens, with p50
// and p99 per query, and the index's rebuild time, heap and disk size on a fresh
// gateway. The 100,000 case is skipped with -short.
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			if n > 10_000 && testing.Short() {
				b.Skip("-short")
			}
			s, js, key, _ := openWatched(b)
			fill(b, s, n)

			// A second gateway rebuilding its index from the bucket.
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			dir := filepath.Join(b.TempDir(), "rebuild")
			t0 := time.Now()
			g := watched(b, js, key, dir)
			rebuild := time.Since(t0)
			runtime.GC()
			runtime.ReadMemStats(&after)
			heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
			disk := float64(dirSize(dir)) / (1 << 20)

			queries := []func(i int) string{
				func(i int) string { return fmt.Sprintf("data:%04d AND type:social_security_number", i%10000) },
				func(i int) string { return fmt.Sprintf("metadata.customer:%d", i%1000) },
				func(i int) string {
					return fmt.Sprintf("(data:%04d OR data:%04d) AND created_at:[2000-01-01 TO *] AND NOT container:/pci/*", i%10000, (i+1)%10000)
				},
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				q := queries[i%len(queries)](i)
				t := time.Now()
				p, err := g.Search(context.Background(), tenant, q, 1, 20)
				lat = append(lat, time.Since(t))
				if err != nil || len(p.Tokens) == 0 {
					b.Fatalf("%s: %v %v", q, p, err)
				}
			}
			b.StopTimer()
			// After ResetTimer, which drops metrics reported before it.
			b.ReportMetric(float64(rebuild.Milliseconds()), "rebuild-ms")
			b.ReportMetric(heap, "index-heap-MiB")
			b.ReportMetric(disk, "index-disk-MiB")
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkCreate compares a create without search indexes with one with three, and
// a create on a store without a running search index.
func BenchmarkCreate(b *testing.B) {
	three := []string{"{{ data }}", "{{ data | last4 }}", "{{ data | remove: '-' }}"}
	for _, c := range []struct {
		name  string
		ixs   []string
		index bool
	}{{"search_indexes=0", nil, true}, {"search_indexes=3", three, true}, {"search_indexes=3/no-index", three, false}} {
		b.Run(c.name, func(b *testing.B) {
			var s *tokens.Store
			if c.index {
				s, _, _, _ = openWatched(b)
			} else {
				js, _ := natstest.JetStream(b)
				key, _, _ := seal.LoadOrCreate(b.TempDir() + "/key")
				s, _ = tokens.Open(context.Background(), js, key)
			}
			b.ResetTimer()
			for i := range b.N {
				r := req("token", fmt.Sprintf(`"value-%d-1234"`, i))
				r.SearchIndexes = c.ixs
				if _, err := s.Create(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResolve10 resolves ten token refs the way the proxy detokenizes a body
// with ten {{ token }} expressions: "single" reads each token on its own (Resolver),
// "batch" reads them in one request first (BatchResolver). Each op is the ten.
func BenchmarkResolve10(b *testing.B) {
	s, _, _, _ := openWatched(b)
	ctx := context.Background()
	var refs []expr.Ref
	for i := range 10 {
		tok, err := s.Create(ctx, req("token", fmt.Sprintf(`"secret value %d"`, i)))
		if err != nil {
			b.Fatal(err)
		}
		refs = append(refs, expr.Ref{Name: tok.ID})
	}
	allow := func(*tokens.Token) error { return nil }
	for _, c := range []struct {
		name     string
		resolver func() expr.Resolver
	}{
		{"single", func() expr.Resolver { return s.Resolver(tenant, allow) }},
		{"batch", func() expr.Resolver { return s.BatchResolver(ctx, tenant, refs, allow) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := c.resolver()
				for _, ref := range refs {
					if _, err := r(ctx, ref); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
