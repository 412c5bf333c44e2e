package runtime

import (
	"context"
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestProbeCold(t *testing.T) {
	ctx := context.Background()
	e, _ := NewEngine(ctx, Config{CacheDir: "/tmp/rdcache"})
	code, _ := os.ReadFile("../functions/mask-card/index.js")
	for _, c := range []string{`module.exports = () => ({ raw: 1 })`, string(code)} {
		s, err := e.Load(ctx, Bundle{Code: []byte(c)})
		if err != nil {
			t.Fatal(err)
		}
		lim, _ := TierLimits(Standard)
		ev := Event{Args: json.RawMessage(`{"card_number":"4242424242424242"}`)}
		for range 5 {
			t0 := time.Now()
			in, _ := s.NewInstance(ctx, lim)
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			t1 := time.Now()
			in.Invoke(ctx, ev)
			t2 := time.Now()
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			t.Logf("minflt %d majflt %d", ru1.Minflt-ru0.Minflt, ru1.Majflt-ru0.Majflt)
			in.Invoke(ctx, ev)
			t3 := time.Now()
			in.Close(ctx)
			t4 := time.Now()
			t.Logf("new %v first %v second %v close %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3))
		}
	}
}
