package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestProbeFamily(t *testing.T) {
	ctx := context.Background()
	e, _ := NewEngine(ctx, Config{CacheDir: "/tmp/rdcache"})
	code, _ := os.ReadFile("../functions/mask-card/index.js")
	ev := Event{Args: json.RawMessage(`{"card_number":"4242424242424242"}`)}
	lim, _ := TierLimits(Standard)
	for i := range 6 {
		s, err := e.Load(ctx, Bundle{Code: []byte(fmt.Sprintf("%s\n// %d", code, i))})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		in, _ := s.NewInstance(ctx, lim)
		t1 := time.Now()
		in.Invoke(ctx, ev)
		t.Logf("snapshot %d: first instance first invoke %v", i, time.Since(t1))
		in.Close(ctx)
	}
}
